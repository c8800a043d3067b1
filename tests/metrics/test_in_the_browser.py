"""The metrics and catalogue pages in Chromium, in both languages, at desktop and phone width:
bars to scale, nothing cut off, and a header that leaves the phone's screen to the page."""

import pytest

from approvals.demo_changes import seed_changes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = [(1366, 900, ""), (390, 844, "-phone")]


def _in(page, language: str) -> None:
    if language == "zh":
        page.select_option("#language", "zh-hans")
        page.click("form.lang button")
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "zh-hans"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_metrics_and_catalogue_fit_desktop_and_phone(demo_tx, new_page, shot, language):  # noqa: F811
    seed_changes()
    page = new_page("mia")
    _in(page, language)
    for path, name in (("/metrics/", "metrics"), ("/catalogue/", "catalogue")):
        for width, height, suffix in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            page.goto(path)
            shot(page, f"{name}-{language}{suffix}")
            header = page.evaluate("document.querySelector('header.site').offsetHeight")
            assert header <= height / 5, (name, language, width, header)
            sideways = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert sideways <= 0, (name, language, width, sideways)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/metrics/")
    # At desktop width every column of every table shows without scrolling.
    cut = page.evaluate(
        "[...document.querySelectorAll('.metrics-table')]"
        ".map(t => t.scrollWidth - t.clientWidth).filter(d => d > 0)"
    )
    assert cut == []
    widths = page.evaluate(
        "[...document.querySelectorAll('#steps rect.chart-bar')].map(r => +r.getAttribute('width'))"
    )
    assert max(widths) == 100 and min(widths) >= 0 and len(set(widths)) > 3
    values = page.locator("#steps .bar-value").all_inner_texts()
    assert not any(v.startswith("0 ") for v in values)
