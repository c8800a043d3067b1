"""The change list in Chromium: filters, sorting and saved filters, at desktop and phone width,
in both languages."""

import pytest

from tests.helpers import approve, assessed, new_change

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_change_list_filters_sorts_and_saves_a_filter(new_page, shot, alice, bob):
    assessed(alice, impact="high", risk="high", title="Replace the core switch")
    assessed(bob, title="Move payroll export to SFTP", departments=["FIN"])
    approve("mia", approve("hank", assessed(alice, title="Patch the VPN gateway")))
    new_change(alice, title="Tidy the backup schedule")
    page = new_page("mia", width=1366, height=768)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/changes/")
    page.select_option("#id_risk", "high")
    page.click("#change-filters button[type=submit]")
    page.wait_for_url("**/changes/?*risk=high*")
    assert page.locator("table.changes tbody tr").count() == 1
    page.fill("#saved-filter-name", "High risk")
    page.click(".save-filter button")
    page.wait_for_url("**/changes/?risk=high")
    page.goto("/changes/")
    page.click("th a:text-is('Risk')")
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("Risk")
    page.click(".saved-filters a:text-is('High risk')")
    assert page.locator("table.changes tbody tr").count() == 1
    shot(page, "daily-change-list-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    shot(page, "daily-change-list-phone")
    page.select_option("#language", "zh-hans")
    with page.expect_navigation():
        page.click("form.lang button")
    page.goto("/changes/?sort=-start")
    assert page.locator("h1").inner_text() != "Change requests"
    shot(page, "daily-change-list-zh-phone")
    page.set_viewport_size({"width": 1366, "height": 768})
    shot(page, "daily-change-list-zh-desktop")
    assert errors == []
