"""The whole journey in a real browser: create and submit, assess, approve in place, audit."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.choices import ChangeState
from approvals.models import ChangeRequest
from tests.browser.inbox import write_comment
from tests.browser.times import typed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_change_goes_from_form_to_approval_and_into_the_audit_trail(
    new_page, shot, alice, ada, hank, audrey
):
    page = new_page("alice")
    shot(page, "01-dashboard-alice")
    page.click("text=New change request")
    page.fill("#id_title", "Upgrade the mail relay")
    page.fill("#id_description", "Move the relay to the supported release.")
    page.fill("#id_goal", "Stay supported.")
    page.fill("#id_scope", "Mail relay hosts.")
    page.fill("#id_expected_impact", "Mail delayed for five minutes.")
    page.select_option("#id_category", "software_upgrade")
    page.select_option("#id_impact", "low")
    page.select_option("#id_implementer", "ivan")
    start = timezone.now() + timedelta(days=2)
    page.fill("#id_planned_start", typed(start, "alice"))
    page.fill("#id_planned_end", typed(start + timedelta(hours=1), "alice"))
    page.fill("#id_backout_plan", "Reinstall the previous package.")
    page.fill("#id_test_plan", "Send a test message.")
    # The route preview follows the answers in place.
    page.check("input[name=departments][value=FIN]")
    page.wait_for_selector("#route-preview >> text=Joint approval")
    page.uncheck("input[name=departments][value=FIN]")
    page.wait_for_selector("#route-preview >> text=Joint approval", state="detached")
    shot(page, "02-change-form")
    page.click("button[value=submit]")
    page.wait_for_url(re.compile(r"/changes/\d+/$"))
    assert page.locator(".change-head").get_by_text("Submitted").count() == 1
    change = ChangeRequest.objects.get(title="Upgrade the mail relay")
    assert change.state == ChangeState.SUBMITTED

    page = new_page("ada")
    page.goto("/assess/")
    shot(page, "03-assessor-queue")
    page.click(f"a[href='/changes/{change.pk}/assess/']")
    page.select_option("#id_impact", "low")
    page.select_option("#id_risk", "low")
    page.fill("#id_notes", "Feasible; routine upgrade.")
    page.click("button.primary")
    page.wait_for_url("**/assess/")
    change.refresh_from_db()
    assert change.state == ChangeState.TIER_APPROVAL

    page = new_page("hank")
    page.goto("/inbox/")
    row = page.locator(".inbox-row", has_text="Upgrade the mail relay")
    assert row.count() == 1
    shot(page, "04-inbox-hank")
    page.evaluate("window.__noReload = true")
    url = page.url
    # A refusal shows inside the row, which stays.
    row.get_by_role("button", name="Reject").click()
    row.locator(".inline-error").get_by_text("a comment is required").wait_for()
    assert row.count() == 1
    # The refusal opens the comment box, since a missing comment is its usual cause.
    row.locator("textarea[name=comment]").wait_for(state="visible")
    write_comment(row, "Fine by IT.")
    row.get_by_role("button", name="Approve").click()
    row.wait_for(state="detached")
    assert page.evaluate("window.__noReload") is True  # same document: no navigation happened
    assert page.url == url
    assert page.locator("#inbox-status").inner_text().startswith("You approved")
    change.refresh_from_db()
    assert change.state == ChangeState.FINAL_APPROVAL

    page = new_page("audrey")
    page.goto(f"/audit/?change={change.key}")
    shot(page, "05-audit-trail")
    table = page.locator("table.list tbody")
    for action in ("created", "submitted", "assessed", "approved"):
        assert table.get_by_text(action, exact=True).count() >= 1, action
    for path in (page.url, f"/changes/{change.pk}/"):
        page.goto(path)
        for label in ("Approve", "Reject", "Submit", "Withdraw", "Add comment", "Attach"):
            assert page.get_by_role("button", name=label, exact=True).count() == 0, label
    shot(page, "06-change-detail-auditor")


def test_the_chinese_interface_renders_the_inbox(new_page, shot, alice, hank):
    from tests.helpers import assessed

    assessed(alice, title="升级邮件网关")
    page = new_page("hank")
    page.select_option("#language", "zh-hans")
    with page.expect_navigation():
        page.click("form.lang button")
    page.goto("/inbox/")
    assert page.locator("h1").inner_text() == "待办审批"
    assert page.get_by_role("button", name="批准", exact=True).count() == 1
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    shot(page, "07-inbox-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "08-inbox-zh-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click(".inbox-row a")
    assert page.locator(".change-head").get_by_text("分级审批中").count() == 1
    shot(page, "09-change-detail-zh")
    page.goto("/how-approvals-work/")
    shot(page, "10-how-approvals-work-zh")
