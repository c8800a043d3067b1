"""The controls an auditor relies on, walked in a real browser: a stale tab is refused, a change
manager reassigns a seat, a requester moves an approved window, and a blackout is known on the
form and in the inbox before anyone decides."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import workflow
from approvals.choices import AuditAction, ChangeState, StepKind, StepStatus
from approvals.models import ApprovalStep, AuditEvent, ChangeRequest, Decision
from tests.browser.inbox import write_comment
from tests.browser.times import typed
from tests.helpers import approve, assessed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DETAIL = re.compile(r"/changes/(\d+)/$")
PHONE = {"width": 390, "height": 844}


def _switch_to_chinese(page):
    page.select_option("#language", "zh-hans")
    with page.expect_navigation():
        page.click("form.lang button[type=submit]")
    assert page.locator("html").get_attribute("lang") == "zh-hans"


def _fits_the_phone(page):
    """Nothing scrolls sideways at phone width."""
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 10


def _step(change, kind):
    return ApprovalStep.objects.get(change=change, round=change.round, kind=kind)


def test_a_decision_from_a_stale_tab_is_refused_in_its_row_and_recorded_once(
    new_page, shot, alice, hank
):
    title = "Stale: rotate the VPN keys"
    change = assessed(alice, title=title)
    head_step = _step(change, StepKind.TIER)
    first = new_page("hank")
    second = first.context.new_page()  # the same signed-in user, in a second tab
    for page in (first, second):
        page.goto("/inbox/")
    first_row = first.locator(".inbox-row", has_text=title)
    write_comment(first_row, "Fine by IT.")
    first_row.get_by_role("button", name="Approve", exact=True).click()
    first_row.wait_for(state="detached")
    events = AuditEvent.objects.filter(change=change).count()

    stale_row = second.locator(".inbox-row", has_text=title)
    stale_row.get_by_role("button", name="Approve", exact=True).click()
    stale_row.locator(".inline-error").get_by_text(
        "That step is no longer open for decision"
    ).wait_for()
    assert stale_row.count() == 1  # the row stays, with the refusal inside it
    shot(second, "controls-01-stale-tab-refused")

    assert Decision.objects.filter(step__change=change).count() == 1
    assert Decision.objects.get(step__change=change).step_id == head_step.pk
    assert AuditEvent.objects.filter(change=change).count() == events
    assert AuditEvent.objects.filter(change=change, action=AuditAction.APPROVED).count() == 1
    change.refresh_from_db()
    assert change.state == ChangeState.FINAL_APPROVAL
    assert _step(change, StepKind.FINAL).status == StepStatus.PENDING


def test_a_change_manager_reassigns_a_seat_and_the_new_approver_decides_it(
    new_page, shot, alice, hank, tom, mia
):
    title = "Reassign: move the print server"
    change = assessed(alice, title=title)
    mia_page = new_page("mia")
    mia_page.goto(f"/changes/{change.pk}/")
    panel = mia_page.locator(".actions-panel")
    panel.get_by_text("Reassign an approver").click()
    panel.locator("#reassign-from").select_option("hank")
    panel.locator("#reassign-to").fill("tom")
    panel.locator("#reassign-reason").fill("Hank is on leave this week.")
    shot(mia_page, "controls-02-reassign-form")
    panel.get_by_role("button", name="Reassign", exact=True).click()
    mia_page.wait_for_url(DETAIL)
    assert mia_page.get_by_text(f"The seat of {change.key} was reassigned.").count() == 1
    head = mia_page.locator("section ol.route").first.locator(":scope > li.step").first
    assert "tom" in head.inner_text()
    shot(mia_page, "controls-03-reassigned")

    hank_page = new_page("hank")
    hank_page.goto("/inbox/")
    assert hank_page.locator(".inbox-row", has_text=title).count() == 0

    tom_page = new_page("tom")
    tom_page.goto("/inbox/")
    row = tom_page.locator(".inbox-row", has_text=title)
    assert row.count() == 1
    shot(tom_page, "controls-04-inbox-tom-after-reassignment")
    row.get_by_role("button", name="Approve", exact=True).click()
    row.wait_for(state="detached")

    decision = Decision.objects.get(step__change=change)
    assert (decision.approver, decision.decision) == (tom, "approve")
    reassigned = AuditEvent.objects.get(change=change, action=AuditAction.REASSIGNED)
    assert reassigned.actor == mia
    change.refresh_from_db()
    assert change.state == ChangeState.FINAL_APPROVAL


def test_a_requester_moves_an_approved_window_in_chinese_on_a_phone_and_it_is_approved_again(
    new_page, shot, alice, mia
):
    title = "改期：迁移文件服务器"
    change = approve("mia", approve("hank", assessed(alice, title=title)))
    assert change.state == ChangeState.APPROVED
    page = new_page("alice", language="zh")
    _switch_to_chinese(page)
    page.set_viewport_size(PHONE)
    page.goto(f"/changes/{change.pk}/")
    page.locator(".actions-panel").get_by_text("调整时间窗口").click()
    start = timezone.now() + timedelta(days=7)
    page.fill("#id_planned_start", typed(start, "alice"))
    page.fill("#id_planned_end", typed(start + timedelta(hours=2), "alice"))
    page.fill("#id_reason", "供应商把割接推迟了一周。")
    shot(page, "controls-05-reschedule-form-zh-phone")
    assert _fits_the_phone(page)
    page.get_by_role("button", name="重新排期", exact=True).click()
    page.wait_for_url(DETAIL)
    assert page.locator(".change-head .badge").first.inner_text() == "状态：最终审批中"
    # The final approval given for the old window shows as void, and why.
    assert page.locator("li.voided").get_by_text("已作废（时间窗口已调整）").count() == 1
    shot(page, "controls-06-rescheduled-zh-phone")
    assert _fits_the_phone(page)

    change.refresh_from_db()
    assert change.state == ChangeState.FINAL_APPROVAL
    assert typed(change.planned_start, "alice") == typed(start, "alice")
    assert AuditEvent.objects.filter(change=change, action=AuditAction.RESCHEDULED).count() == 1

    mia_page = new_page("mia", width=PHONE["width"], height=PHONE["height"], language="zh")
    _switch_to_chinese(mia_page)
    mia_page.goto("/inbox/")
    row = mia_page.locator(".inbox-row", has_text=title)
    assert row.count() == 1
    shot(mia_page, "controls-07-inbox-mia-after-reschedule-zh-phone")
    assert _fits_the_phone(mia_page)
    row.get_by_role("button", name="批准", exact=True).click()
    row.wait_for(state="detached")
    change.refresh_from_db()
    assert change.state == ChangeState.APPROVED
    # The old window's final step keeps its void decision; the new window has a step of its own.
    old_final, new_final = ApprovalStep.objects.filter(
        change=change, round=change.round, kind=StepKind.FINAL
    ).order_by("order")
    assert [d.voided for d in old_final.decisions.all()] == [True]
    assert [d.voided for d in new_final.decisions.all()] == [False]


def test_a_blackout_is_flagged_on_the_form_preview_and_in_the_approvers_inbox_row(
    new_page, shot, alice, ada, hank, mia
):
    freeze_start = (timezone.now() + timedelta(days=3)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    workflow.blackout_window_save(
        actor=mia,
        window_id=None,
        values={
            "name": "Quarter-end freeze",
            "starts_at": freeze_start,
            "ends_at": freeze_start + timedelta(days=2),
            "reason": "Finance closes the quarter.",
        },
    )
    title = "Blackout: resize the file shares"
    page = new_page("alice")
    page.goto("/changes/new/")
    page.fill("#id_title", title)
    page.fill("#id_description", "Grow the shares by half.")
    page.select_option("#id_impact", "low")
    page.select_option("#id_implementer", "ivan")
    preview = page.locator("#route-preview")
    page.fill("#id_planned_start", typed(freeze_start - timedelta(days=2), "alice"))
    page.fill("#id_planned_end", typed(freeze_start - timedelta(days=2, hours=-2), "alice"))
    preview.get_by_text("Department head").wait_for()
    assert preview.locator(".warning-blackout").count() == 0
    # Moving the window into the freeze flags it in place, before anyone decides.
    page.fill("#id_planned_start", typed(freeze_start + timedelta(hours=20), "alice"))
    page.fill("#id_planned_end", typed(freeze_start + timedelta(hours=22), "alice"))
    warning = preview.locator(".warning-blackout")
    warning.wait_for()
    assert "Quarter-end freeze" in warning.inner_text()
    shot(page, "controls-08-form-blackout-preview")
    page.fill("#id_backout_plan", "Shrink the volumes back.")
    page.fill("#id_test_plan", "Open a file on each share.")
    page.click("button[value=submit]")
    page.wait_for_url(DETAIL)
    change = ChangeRequest.objects.get(title=title)
    assert change.state == ChangeState.SUBMITTED
    workflow.change_assess(
        actor=ada, change_id=change.pk, impact="low", risk="low", notes="Feasible."
    )

    hank_page = new_page("hank", width=PHONE["width"], height=PHONE["height"], language="zh")
    _switch_to_chinese(hank_page)
    hank_page.goto("/inbox/")
    row = hank_page.locator(".inbox-row", has_text=title)
    flagged = row.locator(".warning-blackout")
    assert flagged.count() == 1
    assert "冻结期" in flagged.inner_text()
    assert "计划时间窗口与变更冻结期“Quarter-end freeze”重叠。" in row.text_content()
    shot(hank_page, "controls-09-inbox-blackout-zh-phone")
    assert _fits_the_phone(hank_page)
