"""The change detail page: everything an approver needs, and only the viewer's actions."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals import workflow
from approvals.choices import ChangeState
from approvals.models import BlackoutWindow, Delegation
from tests.helpers import (
    approve,
    assessed,
    counts,
    new_change,
    open_step_id,
    refresh,
    standard_change,
    submitted,
    user,
)

pytestmark = pytest.mark.django_db


def _page(as_user, user, change):
    response = as_user(user).get(reverse("web:change_detail", args=[change.pk]))
    assert response.status_code == 200
    return response


def test_the_page_shows_the_whole_request_route_and_timeline(as_user, alice, hank):
    change = approve("hank", assessed(alice, impact="medium"), comment="Looks right")
    workflow.change_comment(actor=alice, change_id=change.pk, text="Thanks!")
    html = _page(as_user, alice, change).content.decode()
    for text in (
        "Stay on a supported version.",  # goal
        "Ticketing database cluster.",  # scope
        "Ten minutes of read-only mode.",  # expected impact
        "feasible",  # assessment notes
        "Restore the snapshot",  # backout plan
        "Run the smoke suite.",  # test plan
        "Department head",
        "Technical expert",
        "Looks right",
        "Thanks!",
        "Tom Technical-Expert (tom)",
    ):
        assert text in html, text
    assert "Due" in html
    assert html.count('class="step ') == 3  # department head, technical expert, CAB
    response = _page(as_user, alice, change)
    actions = [e.action for e in response.context["events"]]
    assert actions[:4] == ["created", "submitted", "assessed", "approved"]


def test_a_delegated_decision_shows_both_names(as_user, alice, hank, bob):
    now = timezone.now()
    Delegation.objects.create(
        delegator=hank,
        delegate=bob,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    change = approve("bob", assessed(alice))
    html = _page(as_user, alice, change).content.decode()
    assert "on behalf of hank" in html


def test_only_the_viewers_actions_are_shown(as_user, alice, hank, ada, audrey):
    change = assessed(alice)
    approver_html = _page(as_user, hank, change).content.decode()
    assert ">Approve<" in approver_html and ">Withdraw<" not in approver_html
    requester_html = _page(as_user, alice, change).content.decode()
    assert ">Approve<" not in requester_html and ">Withdraw<" in requester_html
    assessor = _page(as_user, ada, change)
    assert "approve" not in assessor.context["actions"]
    auditor_html = _page(as_user, audrey, change).content.decode()
    assert "<button" not in auditor_html.split("<main", 1)[1]


def test_the_server_refuses_actions_that_are_not_offered(as_user, alice, hank, audrey):
    change = assessed(alice)
    before = counts(change)
    # the requester cannot decide her own change
    response = as_user(alice).post(
        reverse("web:change_action", args=[change.pk, "approve"]),
        {"comment": "mine", "step": open_step_id(change)},
    )
    assert response.status_code == 403
    assert "Segregation of duties" in response.content.decode()
    # nothing to submit: wrong state
    response = as_user(alice).post(reverse("web:change_action", args=[change.pk, "submit"]))
    assert response.status_code == 409
    # auditors act on nothing, not even comments
    response = as_user(audrey).post(
        reverse("web:change_action", args=[change.pk, "comment"]), {"text": "hi"}
    )
    assert response.status_code == 403
    # unknown actions are 404
    response = as_user(hank).post(reverse("web:change_action", args=[change.pk, "explode"]))
    assert response.status_code == 404
    assert refresh(change).state == ChangeState.TIER_APPROVAL
    assert counts(change) == before


def test_get_is_not_an_action(as_user, alice):
    change = new_change(alice)
    response = as_user(alice).get(reverse("web:change_action", args=[change.pk, "submit"]))
    assert response.status_code == 405


def test_actions_from_the_page_run_through_the_services(as_user, alice, hank):
    change = new_change(alice)
    as_user(alice).post(reverse("web:change_action", args=[change.pk, "submit"]))
    assert refresh(change).state == ChangeState.SUBMITTED
    response = as_user(alice).post(
        reverse("web:change_action", args=[change.pk, "comment"]), {"text": "ping"}, follow=True
    )
    assert "Comment added." in response.content.decode()
    response = as_user(alice).post(
        reverse("web:change_action", args=[change.pk, "withdraw"]), {"comment": "not needed"}
    )
    assert refresh(change).state == ChangeState.WITHDRAWN


def test_reject_without_a_comment_is_refused_with_the_reason(as_user, alice, hank):
    change = assessed(alice)
    before = counts(change)
    response = as_user(hank).post(
        reverse("web:change_action", args=[change.pk, "reject"]), {"step": open_step_id(change)}
    )
    assert response.status_code == 400
    assert "a comment is required" in response.content.decode()
    assert counts(change) == before


def test_a_decision_for_a_step_no_longer_open_is_refused_as_stale(as_user, alice, hank):
    change = assessed(alice)
    step = open_step_id(change)
    url = reverse("web:change_action", args=[change.pk, "approve"])
    assert as_user(hank).post(url, {"step": step}).status_code == 302
    decided = counts(change)
    # a second tab, or a double click, posts the same step again
    response = as_user(hank).post(url, {"step": step})
    assert response.status_code == 409
    assert counts(change) == decided


def test_conflicts_with_changes_and_blackout_windows_are_listed(as_user, alice, bob, mia, ivan):
    start = timezone.now() + timedelta(days=5)
    window = {"planned_start": start, "planned_end": start + timedelta(hours=4)}
    other = submitted(bob, title="Finance batch move", departments=["IT"], **window)
    other = workflow.change_assess(
        actor=user("ada"),
        change_id=other.pk,
        impact="low",
        risk="low",
    )
    # drive the other change to approved: its route (FIN head, IT joint, change manager)
    for username in ("fiona", "hank", "mia"):
        other = approve(username, other)
    assert other.state == ChangeState.APPROVED
    BlackoutWindow.objects.create(
        name="Quarter close",
        starts_at=start + timedelta(hours=1),
        ends_at=start + timedelta(days=1),
    )
    change = new_change(alice, **window)
    html = _page(as_user, alice, change).content.decode()
    # alice may not open bob's change: it is told by its window, not named
    assert "another scheduled change in a shared department" in html
    assert "Finance batch move" not in html
    assert "Quarter close" in html


def test_files_are_attached_from_the_detail_page(as_user, alice, hank):
    from django.core.files.uploadedfile import SimpleUploadedFile

    change = assessed(alice)
    upload = SimpleUploadedFile("runbook.md", b"# Runbook", content_type="text/markdown")
    response = as_user(hank).post(
        reverse("web:change_action", args=[change.pk, "attach"]), {"file": upload}, follow=True
    )
    assert "File attached." in response.content.decode()
    assert "runbook.md" in response.content.decode()
    response = as_user(hank).post(reverse("web:change_action", args=[change.pk, "attach"]))
    assert response.status_code == 400


@pytest.mark.parametrize(
    "name,args,data",
    [
        ("web:inbox_decide", "change", {"decision": "approve", "step": None}),
        ("web:change_action", "assess", {"impact": "low", "risk": "low"}),
        ("web:change_action", "withdraw", {}),
        ("web:delegations", None, None),
    ],
    ids=["decide", "assess", "withdraw", "delegate"],
)
def test_auditors_are_refused_every_write(as_user, alice, audrey, name, args, data):
    from datetime import timedelta as td

    change = submitted(alice) if args != "change" else assessed(alice)
    before = counts(change)
    if args == "change":
        url = reverse(name, args=[change.pk])
        data = data | {"step": open_step_id(change)}
    elif args:
        url = reverse(name, args=[change.pk, args])
    else:
        url = reverse(name)
        now = timezone.localtime()
        data = {
            "delegate": "bob",
            "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + td(days=1)).strftime("%Y-%m-%dT%H:%M"),
        }
    response = as_user(audrey).post(url, data)
    assert response.status_code == 403
    assert counts(change) == before


def test_an_approver_with_nothing_to_decide_is_told_so(as_user, alice, tom):
    change = assessed(alice, impact="medium")  # tom's step waits for the department head
    html = as_user(tom).get(reverse("web:change_detail", args=[change.pk])).content.decode()
    assert "There is nothing you can do on this change now." in html
    assert "Add comment" in html


def _implemented_emergency(alice):
    change = submitted(alice, change_type="emergency", impact="high")
    approve("mia", change)
    workflow.change_start(actor=user("ivan"), change_id=change.pk)
    return workflow.change_complete(actor=user("ivan"), change_id=change.pk, outcome="success")


def test_an_implemented_emergency_change_says_it_waits_for_the_retrospective(as_user, alice, ivan):
    change = _implemented_emergency(alice)
    html = _page(as_user, ivan, change).content.decode()
    assert "Waiting for the CAB's review" in html
    assert "There is nothing you can do on this change now." not in html
    assert "Close with this report" not in html
    response = as_user(ivan).post(
        reverse("web:change_action", args=[change.pk, "feedback"]), {"summary": "Done."}
    )
    assert response.status_code == 409
    assert refresh(change).state == ChangeState.IMPLEMENTED

    approve("carl", change)
    html = _page(as_user, ivan, change).content.decode()
    assert "Waiting for the CAB's review" not in html
    assert "Close with this report" in html


def test_a_failed_change_waits_for_the_cabs_review_before_it_closes(as_user, alice, ivan, carl):
    change = approve("mia", approve("hank", assessed(alice)))
    workflow.change_start(actor=ivan, change_id=change.pk)
    change = workflow.change_complete(actor=ivan, change_id=change.pk, outcome="failed")
    html = _page(as_user, ivan, change).content.decode()
    assert "Waiting for the CAB's review" in html
    assert "Close with this report" not in html
    before = counts(change)
    response = as_user(ivan).post(
        reverse("web:change_action", args=[change.pk, "feedback"]), {"summary": "Rolled back."}
    )
    assert response.status_code == 409
    assert counts(change) == before
    # the review accepts or asks for follow-up; it cannot reject work already done
    reviewer = _page(as_user, carl, change)
    assert "approve" in reviewer.context["actions"]
    assert "reject" not in reviewer.context["actions"]
    approve("carl", change)
    html = _page(as_user, ivan, change).content.decode()
    assert "Waiting for the CAB's review" not in html
    assert "Close with this report" in html


def test_empty_text_fields_show_a_dash_and_the_header_badges_read_as_one_phrase(as_user, alice):
    change = new_change(alice, scope="", expected_impact="")
    html = _page(as_user, alice, change).content.decode()
    assert html.count("<p>—</p>") == 2
    assert "State: Draft" in html and "Impact: Low" in html


def test_the_chinese_header_badges_use_a_full_width_colon(as_user, alice):
    client = as_user(alice)
    client.cookies["django_language"] = "zh-hans"
    change = new_change(alice)
    html = client.get(reverse("web:change_detail", args=[change.pk])).content.decode()
    assert "状态：草稿" in html and "影响：低" in html


def test_a_draft_sent_back_shows_the_question_on_its_page_and_its_form(as_user, alice, hank):
    change = assessed(alice)
    workflow.step_decide(
        actor=hank, change_id=change.pk, decision="request_info", comment="Which backup window?"
    )
    for url in (
        reverse("web:change_detail", args=[change.pk]),
        reverse("web:change_edit", args=[change.pk]),
    ):
        html = as_user(alice).get(url).content.decode()
        assert "Hank Head-of-IT (hank) asked for more information:" in html, url
        assert "<blockquote>Which backup window?</blockquote>" in html, url

    workflow.change_submit(actor=alice, change_id=change.pk)
    html = _page(as_user, alice, change).content.decode()
    assert "asked for more information" not in html


def test_fast_track_and_standard_changes_say_why_they_have_no_assessment(as_user, alice):
    from approvals.models import ChangeTemplate

    emergency = submitted(alice, change_type="emergency")
    html = as_user(alice).get(reverse("web:change_detail", args=[emergency.pk])).content.decode()
    assert "Emergency fast track: no separate assessment" in html
    assert "Not assessed yet." not in html
    template = ChangeTemplate.objects.filter(status="approved").first()
    standard = workflow.change_submit(actor=alice, change_id=standard_change(alice, template).pk)
    html = as_user(alice).get(reverse("web:change_detail", args=[standard.pk])).content.decode()
    assert "pre-approved" in html


def test_decisions_read_as_outcomes_on_the_route(as_user, alice):
    change = approve("hank", assessed(alice))
    html = as_user(alice).get(reverse("web:change_detail", args=[change.pk])).content.decode()
    assert '<span class="badge good">Approved</span>' in html


def test_the_assessor_sends_a_submitted_change_back_from_the_page(as_user, alice, ada):
    change = submitted(alice)
    page = _page(as_user, ada, change)
    assert {"assess", "reject", "request_info"} <= set(page.context["actions"])
    assert "Send back or reject" in page.content.decode()
    before = counts(change)
    response = as_user(ada).post(reverse("web:change_action", args=[change.pk, "reject"]))
    assert response.status_code == 400  # a comment says why
    assert counts(change) == before
    as_user(ada).post(
        reverse("web:change_action", args=[change.pk, "request_info"]),
        {"comment": "Which hosts?"},
    )
    assert refresh(change).state == ChangeState.DRAFT
