"""Auditor pages: the trail with filters, one event, snapshots, chain verification."""

import pytest
from django.urls import reverse

from approvals.audit import range_digest
from approvals.models import AuditEvent, AuditSnapshot
from tests.helpers import approve, assessed, new_change

pytestmark = pytest.mark.django_db


def test_the_trail_lists_events_newest_first_and_links_the_exports(as_user, alice, audrey):
    change = approve("hank", assessed(alice))
    html = as_user(audrey).get(reverse("web:audit_trail")).content.decode()
    assert html.index(">approved<") < html.index(">created<")
    assert "/audit/export/?format=csv" in html
    assert "/audit/export/?format=json" in html
    assert change.key in html


@pytest.mark.parametrize(
    "query,count",
    [
        ("change={first.key}", 4),
        ("change={second.pk}", 1),
        ("actor=hank", 1),
        ("action=created", 2),
        ("since=2000-01-01&until=2999-01-01", 5),
        ("until=2000-01-01", 0),
        ("change=nonsense", 0),
    ],
)
def test_the_trail_filters(as_user, alice, audrey, query, count):
    first = approve("hank", assessed(alice))
    second = new_change(alice)
    query = query.format(first=first, second=second)
    response = as_user(audrey).get(reverse("web:audit_trail") + "?" + query)
    assert response.status_code == 200
    assert response.context["page"].paginator.count == count


def test_the_trail_paginates_with_the_filters_kept(as_user, alice, audrey):
    for _ in range(30):
        new_change(alice)
    response = as_user(audrey).get(reverse("web:audit_trail") + "?action=created")
    assert len(response.context["page"]) == 25
    assert "action=created&amp;page=2" in response.content.decode()
    second = as_user(audrey).get(reverse("web:audit_trail") + "?action=created&page=2")
    assert len(second.context["page"]) == 5


def test_the_trail_needs_a_constant_number_of_queries(
    as_user, alice, audrey, django_assert_max_num_queries
):
    client = as_user(audrey)
    new_change(alice)
    client.get(reverse("web:audit_trail"))
    with django_assert_max_num_queries(15) as few:
        client.get(reverse("web:audit_trail"))
    for _ in range(10):
        approve("hank", assessed(alice))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("web:audit_trail"))


def test_an_event_shows_data_snapshot_and_hashes(as_user, alice, audrey):
    change = assessed(alice)
    event = change.audit_events.get(action="assessed")
    html = as_user(audrey).get(reverse("web:audit_event", args=[event.seq])).content.decode()
    assert event.hash in html and event.prev_hash in html
    assert "&quot;risk&quot;: &quot;low&quot;" in html
    assert change.key in html
    assert as_user(audrey).get(reverse("web:audit_event", args=[99999])).status_code == 404


def test_snapshots_and_chain_verification(as_user, alice, audrey):
    assessed(alice)
    first = AuditEvent.objects.order_by("seq").first().seq
    last = AuditEvent.objects.order_by("seq").last().seq
    count, digest = range_digest(first, last)
    AuditSnapshot.objects.create(first_seq=first, last_seq=last, event_count=count, digest=digest)
    html = as_user(audrey).get(reverse("web:audit_snapshots")).content.decode()
    assert digest in html
    from approvals.evidence import runs

    run = runs.verification_request(requested_by=audrey)
    runs.verification_run(run_id=run.pk)
    html = as_user(audrey).get(reverse("web:audit_verify")).content.decode()
    assert "The audit trail is intact: 3 events checked" in html


def test_auditors_see_no_action_buttons_anywhere(as_user, alice, audrey):
    change = assessed(alice)
    for url in (
        reverse("web:dashboard"),
        reverse("web:change_detail", args=[change.pk]),
        reverse("web:audit_trail"),
        reverse("web:calendar"),
        reverse("web:delegations"),
    ):
        html = as_user(audrey).get(url).content.decode()
        main = html.split('<main id="main">', 1)[1]
        for word in ("Approve", "Reject", "Submit", "Withdraw", "Add comment", "Record delegation"):
            assert f">{word}<" not in main, (url, word)
