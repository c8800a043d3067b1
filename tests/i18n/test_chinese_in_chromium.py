"""A Chinese reader at phone width, in Chromium: names, times and zones in her language."""

from datetime import UTC, datetime

import pytest
from django.conf import settings

from approvals import outbox
from tests.helpers import approve, assessed, user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_olga_reads_a_change_in_chinese_and_beijing_time_on_her_phone(new_page, shot, demo_tx):
    change = assessed(
        user("alice"),
        departments=["IT", "OPS"],
        planned_start=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
        planned_end=datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
    )
    approve("hank", change)
    outbox.events_dispatch()

    # Olga's browser asks for English and has chosen no language; her profile says Chinese.
    page = new_page("olga", width=390, height=844, language="en")
    page.context.clear_cookies(name=settings.LANGUAGE_COOKIE_NAME)
    page.goto(f"/changes/{change.pk}/")
    body = page.inner_text("main")
    assert "联合审批（受影响部门）" in body and "部门负责人审批" in body
    assert "信息技术部 (IT)" in body and "运营部 (OPS)" in body
    assert "2026-12-01 20:00 – 22:00 UTC+08:00" in body
    assert "影响：低" in body
    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    shot(page, "i18n-change-detail-zh-phone")

    page.goto("/notifications/")
    assert "等待您审批" in page.inner_text("main")
    shot(page, "i18n-notifications-zh-phone")
