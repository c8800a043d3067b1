"""The approver inbox: decide in place with htmx, or with a plain form post."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.choices import ChangeState
from approvals.models import ApprovalStep, Delegation
from tests.helpers import assessed, counts, open_step_id, refresh

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "step-1"}


def test_the_inbox_lists_my_steps_oldest_due_first_with_overdue_marked_in_words(
    as_user, alice, hank
):
    first = assessed(alice, title="First")
    second = assessed(alice, title="Second")
    ApprovalStep.objects.filter(change=second, status="pending").update(
        due_at=timezone.now() - timedelta(hours=1)
    )
    response = as_user(hank).get(reverse("web:inbox"))
    html = response.content.decode()
    assert html.index("Second") < html.index("First")
    rows = response.context["rows"]
    assert [r["overdue"] for r in rows] == [True, False]
    assert '<span class="badge bad">Overdue</span>' in html
    assert first.key in html


def test_htmx_approve_removes_the_row_and_says_so(as_user, alice, hank):
    change = assessed(alice)
    response = as_user(hank).post(
        reverse("web:inbox_decide", args=[change.pk]),
        {"decision": "approve", "comment": "ok", "step": open_step_id(change)},
        headers=HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-swap-oob="true"' in html and f"You approved {change.key}." in html
    assert "<html" not in html and "inbox-row" not in html
    assert '<p id="inbox-summary" hx-swap-oob="true">Nothing waits for you.' in html
    assert refresh(change).state == ChangeState.FINAL_APPROVAL


def test_without_javascript_the_decision_posts_and_redirects(as_user, alice, hank):
    change = assessed(alice)
    response = as_user(hank).post(
        reverse("web:inbox_decide", args=[change.pk]),
        {"decision": "reject", "comment": "no", "step": open_step_id(change)},
    )
    assert response.status_code == 302 and response["Location"] == reverse("web:inbox")
    assert refresh(change).state == ChangeState.REJECTED


def test_htmx_errors_are_shown_inside_the_row(as_user, alice, hank):
    change = assessed(alice)
    before = counts(change)
    response = as_user(hank).post(
        reverse("web:inbox_decide", args=[change.pk]),
        {"decision": "reject", "step": open_step_id(change)},
        headers=HTMX,
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#step-1 .inline-error"
    assert response["HX-Reswap"] == "innerHTML"
    assert "a comment is required" in response.content.decode()
    assert counts(change) == before


def test_a_decision_without_its_step_is_refused_and_changes_nothing(as_user, alice, hank):
    change = assessed(alice)
    before = counts(change)
    response = as_user(hank).post(
        reverse("web:inbox_decide", args=[change.pk]), {"decision": "approve"}, headers=HTMX
    )
    assert response.status_code == 400
    assert counts(change) == before


def test_deciding_someone_elses_step_is_refused(as_user, alice, carl, fiona, hank):
    change = assessed(alice)
    step = open_step_id(change)
    before = counts(change)
    # carl (CAB) sees every submitted change but is not named on the open step
    response = as_user(carl).post(
        reverse("web:inbox_decide", args=[change.pk]),
        {"decision": "approve", "step": step},
        headers=HTMX,
    )
    assert response.status_code == 403
    # fiona heads another department and is not on the route: she does not even see it
    response = as_user(fiona).post(
        reverse("web:inbox_decide", args=[change.pk]),
        {"decision": "approve", "step": step},
        headers=HTMX,
    )
    assert response.status_code == 404
    assert counts(change) == before
    as_user(hank).post(
        reverse("web:inbox_decide", args=[change.pk]),
        {"decision": "reject", "comment": "x", "step": step},
    )
    decided = counts(change)
    response = as_user(hank).post(
        reverse("web:inbox_decide", args=[change.pk]), {"decision": "approve", "step": step}
    )
    assert response.status_code == 409
    assert counts(change) == decided


def test_a_delegate_sees_the_step_on_behalf_of_the_absent_approver(as_user, alice, hank, bob):
    now = timezone.now()
    Delegation.objects.create(
        delegator=hank,
        delegate=bob,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    change = assessed(alice)
    html = as_user(bob).get(reverse("web:inbox")).content.decode()
    assert change.key in html and "on behalf of hank" in html


def test_the_inbox_needs_a_constant_number_of_queries(
    as_user, alice, hank, django_assert_max_num_queries
):
    client = as_user(hank)
    assessed(alice)
    client.get(reverse("web:inbox"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("web:inbox"))
    for _ in range(6):
        assessed(alice)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("web:inbox"))
    assert len(response.context["rows"]) == 7


def test_the_dashboard_counts_my_inbox_and_overdue_steps(as_user, alice, hank):
    assessed(alice)
    late = assessed(alice)
    ApprovalStep.objects.filter(change=late, status="pending").update(
        due_at=timezone.now() - timedelta(minutes=5)
    )
    response = as_user(hank).get(reverse("web:dashboard"))
    assert response.context["inbox_count"] == 2
    assert response.context["overdue_count"] == 1
    assert "1 overdue" in response.content.decode()


def test_an_emergency_change_reaches_the_ecab_and_then_the_retrospective_in_the_inbox(
    as_user, alice, mia, carl, ivan
):
    from approvals import workflow
    from tests.helpers import submitted

    change = submitted(alice, change_type="emergency", title="Stop the data leak")
    assert "Stop the data leak" in as_user(mia).get(reverse("web:inbox")).content.decode()
    as_user(mia).post(
        reverse("web:inbox_decide", args=[change.pk]),
        {"decision": "approve", "step": open_step_id(change)},
    )
    workflow.change_start(actor=ivan, change_id=change.pk)
    workflow.change_complete(actor=ivan, change_id=change.pk, outcome="success")
    html = as_user(carl).get(reverse("web:inbox")).content.decode()
    assert "Stop the data leak" in html and "Retrospective review (CAB)" in html


def test_requesting_information_sends_the_change_back_and_keeps_the_void_round(
    as_user, alice, hank
):
    change = assessed(alice)
    as_user(hank).post(
        reverse("web:inbox_decide", args=[change.pk]),
        {"decision": "request_info", "comment": "Which hosts?", "step": open_step_id(change)},
    )
    assert refresh(change).state == ChangeState.DRAFT
    html = as_user(alice).get(reverse("web:change_detail", args=[change.pk])).content.decode()
    assert "Earlier rounds" in html and "Which hosts?" in html
    assert "void (information was requested)" in html
    assert ">Edit draft<" in html
