"""Dashboard, change list, calendar, metrics and the process guide."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import BlackoutWindow, Policy
from tests.helpers import approve, assessed, new_change

pytestmark = pytest.mark.django_db


def _approved(requester, **fields):
    change = assessed(requester, **fields)
    for username in ("hank", "mia"):
        change = approve(username, change)
    return change


def test_the_dashboard_shows_my_drafts_open_changes_and_activity(as_user, alice):
    new_change(alice, title="Still drafting")
    assessed(alice, title="On its way")
    response = as_user(alice).get(reverse("web:dashboard"))
    html = response.content.decode()
    assert [c.title for c in response.context["drafts"]] == ["Still drafting"]
    assert [c.title for c in response.context["open_changes"]] == ["On its way"]
    assert "Recent activity" in html and "assessed" in html


def test_the_dashboard_and_change_list_need_a_constant_number_of_queries(
    as_user, alice, django_assert_max_num_queries
):
    client = as_user(alice)
    assessed(alice)
    new_change(alice)
    for name in ("web:dashboard", "web:change_list"):
        client.get(reverse(name))
    counts = {}
    for name in ("web:dashboard", "web:change_list"):
        with django_assert_max_num_queries(20) as captured:
            client.get(reverse(name))
        counts[name] = len(captured.captured_queries)
    for _ in range(5):
        assessed(alice)
        new_change(alice)
    for name, count in counts.items():
        with django_assert_max_num_queries(count):
            client.get(reverse(name))


def test_the_change_list_filters_by_state_and_text(as_user, alice, mia):
    new_change(alice, title="Alpha")
    assessed(alice, title="Beta")
    html = as_user(alice).get(reverse("web:change_list") + "?state=draft").content.decode()
    assert "Alpha" in html and "Beta" not in html
    html = as_user(alice).get(reverse("web:change_list") + "?q=bet").content.decode()
    assert "Beta" in html and "Alpha" not in html
    # a draft never submitted is its requester's alone, even for the change manager
    html = as_user(mia).get(reverse("web:change_list")).content.decode()
    assert "Beta" in html and "Alpha" not in html


def test_the_calendar_shows_scheduled_changes_blackouts_and_conflicts(as_user, alice):
    start = timezone.now() + timedelta(days=2)
    window = {"planned_start": start, "planned_end": start + timedelta(hours=3)}
    one = _approved(alice, title="Router swap", **window)
    two = _approved(alice, title="Firewall rules", **window)
    BlackoutWindow.objects.create(
        name="Audit week", starts_at=start + timedelta(hours=2), ends_at=start + timedelta(days=2)
    )
    response = as_user(alice).get(reverse("web:calendar"))
    html = response.content.decode()
    assert "Router swap" in html and "Firewall rules" in html and "Audit week" in html
    conflicts = response.context["conflicts"]
    pairs = [(c.change.pk, c.other.pk) for c in conflicts if c.other]
    assert pairs == [(one.pk, two.pk)]
    assert {c.change.pk for c in conflicts if c.blackout} == {one.pk, two.pk}
    assert html.count("Conflict</span>") >= 4


def test_metrics_show_waits_rates_as_svg_and_table(as_user, alice):
    change = assessed(alice)
    approve("hank", change)
    html = as_user(alice).get(reverse("web:metrics")).content.decode()
    assert "<svg" in html and "<rect" in html
    assert "Median" in html and "90th percentile" in html
    assert "Approval rate" in html and "Success rate" in html


def test_the_guide_is_generated_from_the_live_policies(as_user, alice):
    policy = Policy.objects.get(name="Normal change — medium impact")
    step = policy.steps.get(name="Technical expert")
    step.sla_hours = 36
    step.save()
    html = as_user(alice).get(reverse("web:how_it_works")).content.decode()
    for policy in Policy.objects.filter(is_active=True):
        assert policy.name in html
    assert "36 h" in html
    assert "Joint approval (affected departments)" in html
    assert "only for cross-department changes" in html
    assert "Segregation of duties" in html
    assert "<td>Change manager</td>" in html  # escalation target, by its role name


def test_the_calendar_needs_a_constant_number_of_queries(
    as_user, alice, mia, django_assert_max_num_queries
):
    start = timezone.now() + timedelta(days=2)
    window = {"planned_start": start, "planned_end": start + timedelta(hours=3)}
    client = as_user(mia)
    _approved(alice, **window)
    client.get(reverse("web:calendar"))
    with django_assert_max_num_queries(15) as few:
        client.get(reverse("web:calendar"))
    for _ in range(4):
        _approved(alice, **window)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("web:calendar"))
    assert len(response.context["changes"]) == 5


def test_unknown_pages_use_the_site_layout(as_user, alice, settings):
    settings.DEBUG = False
    response = as_user(alice).get("/no-such-page/")
    assert response.status_code == 404
    assert "Back to the dashboard" in response.content.decode()


@pytest.mark.parametrize(
    "username,path",
    [
        ("mia", "/calendar/?from=9999-12-31"),
        ("mia", "/calendar/?from=nonsense"),
        ("mia", "/changes/?state=bogus&q=%00%ff"),
        ("audrey", "/audit/?change=99999999999999999999999&page=-3"),
        ("audrey", "/audit/?since=9999-12-31&until=9999-12-31"),
        ("audrey", "/audit/?since=not-a-date&action=%3Cscript%3E"),
        ("audrey", "/audit/snapshots/?page=abc"),
        ("alice", "/changes/route-preview/?change_type=bogus&impact=bogus&departments=ZZ"),
    ],
)
def test_malformed_queries_never_break_a_page(as_user, request, username, path):
    response = as_user(request.getfixturevalue(username)).get(path)
    assert response.status_code == 200


def test_the_change_list_paginates(as_user, alice):
    for _ in range(55):
        new_change(alice)
    response = as_user(alice).get(reverse("web:change_list") + "?state=draft")
    assert len(response.context["page"]) == 50
    assert "state=draft&amp;page=2" in response.content.decode()
