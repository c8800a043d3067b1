"""A walk through a full inbox in Chromium, at desktop and phone width, in both languages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import ApprovalStep
from tests.helpers import assessed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def _fill_inbox(alice, count):
    start = timezone.now() + timedelta(days=2)
    changes = [
        assessed(
            alice,
            title=f"Patch application server {n:02d}",
            description="Apply this month's security patches and restart the service. " * 3,
            planned_start=start,
            planned_end=start + timedelta(hours=2),
        )
        for n in range(count)
    ]
    ApprovalStep.objects.filter(change=changes[0], status="pending").update(
        due_at=timezone.now() - timedelta(hours=2)
    )
    return changes


def _active_row_id(page):
    return page.evaluate("document.activeElement && document.activeElement.id")


def _focus_reaches(page, row_id):
    """The row that has the focus, once the page's script has moved it (it may run after the
    swap that triggered it)."""
    page.wait_for_function(
        "id => document.activeElement && document.activeElement.id === id", arg=row_id
    )
    return _active_row_id(page)


def test_thirty_waiting_steps_fit_two_screens_and_are_decided_from_the_keyboard(
    new_page, shot, alice, hank
):
    _fill_inbox(alice, 30)
    page = new_page("hank", width=DESKTOP["width"], height=DESKTOP["height"])
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/inbox/")
    assert page.locator("#nav-inbox-count").inner_text() == "30"
    rows = page.locator("#inbox-list > .inbox-row")
    assert rows.count() == 30
    shot(page, "daily-inbox-desktop")
    height = page.evaluate("document.getElementById('inbox-list').getBoundingClientRect().height")
    assert height <= 2 * DESKTOP["height"], height  # thirty rows in about two screens

    # j / k and the arrow keys move between rows; the comment box stays shut until asked for
    page.keyboard.press("j")
    first = rows.nth(0).get_attribute("id")
    assert _focus_reaches(page, first) == first
    page.keyboard.press("ArrowDown")
    second = rows.nth(1).get_attribute("id")
    assert _focus_reaches(page, second) == second
    page.keyboard.press("k")
    assert _focus_reaches(page, first) == first
    assert page.locator("details.row-comment[open]").count() == 0

    # a decision in place: the row leaves, the focus moves to the next row, the count drops
    page.evaluate("window.__sameDocument = true")
    rows.nth(0).get_by_role("button", name="Approve", exact=True).click()
    page.locator(f"#{first}").wait_for(state="detached")
    assert page.evaluate("window.__sameDocument") is True
    assert _focus_reaches(page, second) == second
    assert page.locator("#nav-inbox-count").inner_text() == "29"

    # a refusal stays in its row and opens the comment box
    row = page.locator(f"#{second}")
    row.get_by_role("button", name="Reject", exact=True).click()
    row.locator(".inline-error").get_by_text("a comment is required").wait_for()
    row.locator("details.row-comment[open]").wait_for()  # opened once the refusal arrives
    assert row.locator("details.row-comment[open]").count() == 1

    # Enter opens the focused row's change
    page.keyboard.press("Escape")
    row.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/changes/*/")
    assert page.locator("h1").inner_text().startswith("Patch application server")

    # bulk: three rows, one comment, three separate decisions
    page.goto("/inbox/")
    for n in range(3):
        page.locator("#inbox-list .row-select").nth(n).check()
    page.fill("#bulk-comment", "Routine patching, fine by IT.")
    page.get_by_role("button", name="Approve selected").click()
    page.wait_for_url("**/inbox/")
    assert page.locator(".messages").inner_text().startswith("3 approved")
    assert page.locator("#inbox-list > .inbox-row").count() == 26
    assert errors == []

    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 10, width
    shot(page, "daily-inbox-phone")


def test_the_inbox_in_chinese_at_desktop_and_phone_width(new_page, shot, alice, hank):
    _fill_inbox(alice, 4)
    page = new_page("hank", width=DESKTOP["width"], height=DESKTOP["height"])
    page.select_option("#language", "zh-hans")
    with page.expect_navigation():
        page.click("form.lang button")
    page.goto("/inbox/")
    assert page.locator("h1").inner_text() == "待办审批"
    assert page.get_by_role("button", name="批准所选").count() == 1
    shot(page, "daily-inbox-zh-desktop")
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 10, width
    shot(page, "daily-inbox-zh-phone")


def test_a_decision_refused_with_a_whole_page_shows_a_message_in_its_row(new_page, alice, hank):
    (change,) = _fill_inbox(alice, 1)
    page = new_page("hank", width=DESKTOP["width"], height=DESKTOP["height"])
    page.goto("/inbox/")
    # a stale security token: the server refuses the post with its own full error page
    page.evaluate(
        "document.body.setAttribute('hx-headers', '{\"X-CSRFToken\": \"stale\"}');"
        "document.querySelectorAll('input[name=csrfmiddlewaretoken]')"
        ".forEach(function (i) { i.value = 'stale'; });"
    )
    row = page.locator(".inbox-row", has_text=change.title)
    row.get_by_role("button", name="Approve", exact=True).click()
    row.locator(".inline-error").get_by_text("The decision could not be confirmed").wait_for()
    assert page.locator("html").count() == 1 and page.locator("header.site").count() == 1
    assert row.locator("form.row-decide").count() == 1  # the row is still there to try again
    change.refresh_from_db()
    assert change.state == "tier_approval"
