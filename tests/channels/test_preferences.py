"""Each person chooses how they hear: channels, quiet hours, a daily digest; by page or API."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils.html import strip_tags

from approvals.models import Profile
from approvals_channels import mail as channel_mail
from approvals_channels.models import ChannelPreferences
from notifications import emails
from notifications.models import Notification
from tests.channels.support import NOTIFY, drain, open_step
from tests.helpers import assessed

pytestmark = pytest.mark.django_db

# A Monday, 09:00 in Shanghai.
MONDAY_9 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture
def api(client):
    def call(user, method="get", data=None):
        client.force_login(user)
        if method == "put":
            return client.put("/api/v1/me/preferences/", data, content_type="application/json")
        return client.get("/api/v1/me/preferences/")

    return call


def test_preferences_start_with_every_channel_and_no_digest(api, hank):
    reply = api(hank)
    assert reply.status_code == 200
    assert reply.json() == {
        "in_app": True,
        "email": True,
        "chat": True,
        "quiet_start": None,
        "quiet_end": None,
        "digest": False,
        "digest_hour": 8,
    }


def test_a_person_sets_quiet_hours_and_a_digest_through_the_api(api, hank):
    wanted = {
        "in_app": True,
        "email": True,
        "chat": False,
        "quiet_start": "22:00",
        "quiet_end": "07:30",
        "digest": True,
        "digest_hour": 9,
    }
    assert api(hank, "put", wanted).json() == wanted
    assert api(hank).json() == wanted


def test_bad_preferences_are_refused_and_nothing_is_saved(api, hank):
    reply = api(hank, "put", {"quiet_start": "25:00", "digest_hour": 30, "email": "yes"})
    assert reply.status_code == 400
    assert {"quiet_start", "digest_hour", "email"} <= set(reply.json())
    assert not ChannelPreferences.objects.filter(user=hank).exists()


def test_the_settings_page_saves_the_same_preferences(client, hank):
    client.force_login(hank)
    assert client.get("/me/notifications/").status_code == 200
    reply = client.post(
        "/me/notifications/",
        {
            "in_app": "on",
            "email": "on",
            "quiet_start": "21:00",
            "quiet_end": "06:00",
            "digest_hour": "7",
        },
    )
    assert reply.status_code == 302
    saved = ChannelPreferences.objects.get(user=hank)
    assert (saved.chat, saved.quiet_start, saved.quiet_end, saved.digest_hour) == (
        False,
        time(21),
        time(6),
        7,
    )


def _page_text(client) -> str:
    html = client.get("/me/notifications/").content.decode()
    return re.sub(r"\s+", " ", strip_tags(html))


def test_the_settings_page_says_chat_messages_link_to_the_change_and_carry_no_buttons(client, hank):
    client.force_login(hank)
    page = _page_text(client)
    assert "In chat groups" in page
    assert "a message with a link to the change: you sign in and decide on the change page" in page
    assert "Chat messages carry no approve or reject buttons." in page
    assert "button for you" not in page


def test_the_chinese_settings_page_says_the_same(client, hank):
    Profile.objects.filter(user=hank).update(language="zh-hans")
    client.force_login(hank)
    page = _page_text(client)
    assert "在聊天群中" in page
    assert "附有变更链接的消息：请登录后在变更页面审批" in page
    assert "聊天消息不带批准或驳回按钮。" in page
    assert "为您提供" not in page and "In chat" not in page


def _shanghai(user):
    Profile.objects.filter(user=user).update(time_zone="Asia/Shanghai")


def test_no_email_in_quiet_hours_it_goes_out_when_they_end(
    alice, hank, settings, time_machine, django_capture_on_commit_callbacks
):
    settings.AUDIT_EVENT_CONSUMERS = [NOTIFY]
    _shanghai(hank)
    ChannelPreferences.objects.create(user=hank, quiet_start=time(22), quiet_end=time(7))
    time_machine.move_to(MONDAY_9 - timedelta(hours=10), tick=False)  # 23:00 in Shanghai
    assessed(alice)
    drain(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox if m.to == [hank.email]] == []
    held = Notification.objects.get(user=hank, kind="step_opened")
    assert held.emailed_at is None and held.email_attempts == 0
    time_machine.move_to(MONDAY_9 - timedelta(hours=1, minutes=59), tick=False)  # 07:01
    emails.send_pending()
    assert [m.to for m in mail.outbox].count([hank.email]) == 1


def test_who_turned_email_off_gets_none_and_who_turned_in_app_off_sees_no_badge(
    alice, hank, settings, django_capture_on_commit_callbacks
):
    settings.AUDIT_EVENT_CONSUMERS = [NOTIFY]
    ChannelPreferences.objects.create(user=hank, email=False, in_app=False)
    assessed(alice)
    drain(django_capture_on_commit_callbacks)
    emails.send_pending()
    assert [hank.email] not in [m.to for m in mail.outbox]
    assert Notification.objects.get(user=hank, kind="step_opened").read_at is not None


def test_the_daily_digest_lists_what_waits_once_a_day_at_the_chosen_hour(alice, hank, time_machine):
    _shanghai(hank)
    ChannelPreferences.objects.create(user=hank, digest=True, digest_hour=9)
    time_machine.move_to(MONDAY_9 - timedelta(hours=2), tick=False)
    change = assessed(alice)
    assert channel_mail.send_digests() == 0  # 07:00 in Shanghai: not yet
    time_machine.move_to(MONDAY_9 + timedelta(minutes=5), tick=False)
    assert channel_mail.send_digests() == 1
    assert channel_mail.send_digests() == 0  # once a day
    [digest] = [m for m in mail.outbox if m.to == [hank.email]]
    assert change.key in digest.body and open_step(change).name in digest.body
    assert change.key in digest.alternatives[0][0]
    time_machine.move_to(MONDAY_9 + timedelta(days=1), tick=False)
    assert channel_mail.send_digests() == 1


def _digest_for(user, time_machine):
    """The digest `user` gets at 01:05 UTC on Monday for alice's change assessed at 23:00 UTC
    on Sunday: its first step is due 24 hours later, at 23:00 UTC on Monday."""
    ChannelPreferences.objects.create(user=user, digest=True, digest_hour=0)
    time_machine.move_to(MONDAY_9 - timedelta(hours=2), tick=False)
    assessed(User.objects.get(username="alice"))
    time_machine.move_to(MONDAY_9 + timedelta(minutes=5), tick=False)
    assert channel_mail.send_digests() == 1
    [digest] = [m for m in mail.outbox if m.to == [user.email]]
    return digest.body, digest.alternatives[0][0]


def test_the_digest_gives_each_due_time_in_the_recipients_time_zone_with_the_zone(
    hank, time_machine
):
    _shanghai(hank)
    text, html = _digest_for(hank, time_machine)
    assert "Department head (due 2026-11-24 07:00 UTC+08:00)" in text
    assert "<td>2026-11-24 07:00 UTC+08:00</td>" in html
    assert "2026-11-23 23:00" not in text + html  # never the server's zone


def test_the_chinese_digest_names_the_step_in_chinese_and_gives_the_zone(hank, time_machine):
    _shanghai(hank)
    Profile.objects.filter(user=hank).update(language="zh-hans")
    text, html = _digest_for(hank, time_machine)
    assert "部门负责人审批 (截止 2026-11-24 07:00 UTC+08:00)" in text
    assert "部门负责人审批" in html and "<td>2026-11-24 07:00 UTC+08:00</td>" in html


def test_each_recipient_reads_the_due_time_in_their_own_zone(hank, time_machine):
    Profile.objects.filter(user=hank).update(time_zone="America/New_York")
    text, html = _digest_for(hank, time_machine)
    assert "(due 2026-11-23 18:00 UTC-05:00)" in text
    assert "<td>2026-11-23 18:00 UTC-05:00</td>" in html


def test_a_digest_to_someone_without_a_zone_gives_the_sites_zone(hank, settings, time_machine):
    settings.TIME_ZONE = "UTC"
    Profile.objects.filter(user=hank).update(time_zone="")
    text, html = _digest_for(hank, time_machine)
    assert "(due 2026-11-23 23:00 UTC)" in text and "<td>2026-11-23 23:00 UTC</td>" in html


def test_the_email_is_written_in_the_recipients_language(
    alice, hank, settings, django_capture_on_commit_callbacks
):
    settings.AUDIT_EVENT_CONSUMERS = [NOTIFY]
    Profile.objects.filter(user=hank).update(language="zh-hans")
    assessed(alice)
    drain(django_capture_on_commit_callbacks)
    [message] = [m for m in mail.outbox if m.to == [hank.email]]
    assert message.extra_headers["Content-Language"] == "zh-hans"
    html = message.alternatives[0][0]
    assert "批准" in html and "驳回" in message.body
