"""Chat robots: each platform's receiver gets its own message format, correctly signed, with one
"Review and decide" button that opens the change page behind sign-in (a group reads the message,
so it carries no decision link); failed sends are retried."""

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from approvals.models import AuditEvent, Decision, Department
from approvals_channels import chat, services
from approvals_channels.models import ChatDelivery, ChatTarget, DecisionLink, DeliveryStatus
from tests.channels.support import CHAT, drain, open_step
from tests.helpers import assessed

pytestmark = pytest.mark.django_db

DINGTALK_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
FEISHU_SECRET = "fs-signing-secret-9f8e7d"


def _target(receiver, platform, *, path, secret="", department=None, **extra):
    return ChatTarget.objects.create(
        name=f"{platform} group",
        platform=platform,
        url=receiver.url + path,
        secret=secret,
        department=department or Department.objects.get(code="IT"),
        **extra,
    )


@pytest.fixture
def sent(alice, settings, receiver, django_capture_on_commit_callbacks):
    """Create targets with `make`, put a change in front of its first step, and return what the
    receiver got."""
    settings.AUDIT_EVENT_CONSUMERS = [CHAT]
    settings.SITE_URL = "http://testserver"

    def run():
        change = assessed(alice)
        drain(django_capture_on_commit_callbacks)
        return change, receiver.requests

    return run


def _the_button_opens_the_change_behind_sign_in(client, urls, change):
    assert len(urls) == 1
    path = urlsplit(urls[0]).path
    assert path == f"/changes/{change.pk}/"
    client.logout()
    page = client.get(path)
    assert page.status_code == 302 and "/login" in page["Location"]
    assert not DecisionLink.objects.exists()


def test_wecom_robot_gets_markdown_with_a_review_and_decide_link_to_the_change(
    sent, receiver, client
):
    _target(receiver, "wecom", path="/cgi-bin/webhook/send?key=robot-key-1")
    change, requests = sent()
    [request] = requests
    assert request["path"] == "/cgi-bin/webhook/send?key=robot-key-1"
    assert request["headers"]["Content-Type"].startswith("application/json")
    body = json.loads(request["body"])
    assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert set(body["markdown"]) == {"content"} and len(content.encode()) <= 4096
    assert change.key in content and "Review and decide" in content
    urls = [part.split(")")[0] for part in content.split("](")[1:]]
    _the_button_opens_the_change_behind_sign_in(client, urls, change)


def test_dingtalk_robot_gets_a_signed_action_card(sent, receiver, client):
    _target(receiver, "dingtalk", path="/robot/send?access_token=tok-1", secret=DINGTALK_SECRET)
    change, requests = sent()
    [request] = requests
    parts = urlsplit(request["path"])
    query = parse_qs(parts.query)
    assert parts.path == "/robot/send" and query["access_token"] == ["tok-1"]
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    # The receiver's check: HMAC-SHA256 keyed with the secret over "timestamp\nsecret", base64.
    expected = base64.b64encode(
        hmac.new(
            DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert sign == expected
    assert abs(int(timestamp) - time.time() * 1000) < 3600 * 1000
    body = json.loads(request["body"])
    assert body["msgtype"] == "actionCard" and set(body) == {"msgtype", "actionCard"}
    card = body["actionCard"]
    assert set(card) == {"title", "text", "btnOrientation", "btns"}
    assert change.key in card["title"] and change.key in card["text"]
    assert all(set(b) == {"title", "actionURL"} for b in card["btns"])
    assert all("Review and decide" in b["title"] for b in card["btns"])
    _the_button_opens_the_change_behind_sign_in(
        client, [b["actionURL"] for b in card["btns"]], change
    )


def test_feishu_robot_gets_a_signed_interactive_card(sent, receiver, client):
    _target(receiver, "feishu", path="/open-apis/bot/v2/hook/hook-1", secret=FEISHU_SECRET)
    change, requests = sent()
    [request] = requests
    assert request["path"] == "/open-apis/bot/v2/hook/hook-1"
    body = json.loads(request["body"])
    assert set(body) == {"timestamp", "sign", "msg_type", "card"}
    timestamp = body["timestamp"]
    assert isinstance(timestamp, str) and abs(int(timestamp) - time.time()) < 3600
    # The receiver's check: HMAC-SHA256 keyed with "timestamp\nsecret" over empty data, base64.
    key = f"{timestamp}\n{FEISHU_SECRET}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "interactive"
    card = body["card"]
    assert card["header"]["title"]["tag"] == "plain_text"
    assert change.key in card["header"]["title"]["content"]
    div, action = card["elements"]
    assert div["tag"] == "div" and div["text"]["tag"] == "lark_md"
    assert action["tag"] == "action"
    buttons = action["actions"]
    assert all(b["tag"] == "button" and b["text"]["tag"] == "plain_text" for b in buttons)
    _the_button_opens_the_change_behind_sign_in(client, [b["url"] for b in buttons], change)


def test_slack_webhook_gets_block_kit_with_link_buttons(sent, receiver, client):
    _target(receiver, "slack", path="/services/T000/B000/XXXX")
    change, requests = sent()
    [request] = requests
    assert request["path"] == "/services/T000/B000/XXXX"
    body = json.loads(request["body"])
    assert set(body) == {"text", "blocks"} and change.key in body["text"]
    header, section, actions = body["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert actions["type"] == "actions"
    for button in actions["elements"]:
        assert button["type"] == "button" and button["text"]["type"] == "plain_text"
        assert len(button["text"]["text"]) <= 75 and button["action_id"]
    _the_button_opens_the_change_behind_sign_in(
        client, [b["url"] for b in actions["elements"]], change
    )


def test_teams_webhook_gets_an_adaptive_card_with_open_url_actions(sent, receiver, client):
    _target(receiver, "teams", path="/webhookb2/abc@def/IncomingWebhook/123/456")
    change, requests = sent()
    [request] = requests
    body = json.loads(request["body"])
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["body"][0]["type"] == "TextBlock" and change.key in card["body"][0]["text"]
    assert all(a["type"] == "Action.OpenUrl" for a in card["actions"])
    _the_button_opens_the_change_behind_sign_in(client, [a["url"] for a in card["actions"]], change)


def test_a_target_of_another_department_hears_nothing(sent, receiver):
    _target(receiver, "slack", path="/finance", department=Department.objects.get(code="FIN"))
    _change, requests = sent()
    assert requests == []
    assert not ChatDelivery.objects.exists()


def test_a_failed_send_is_retried_by_the_sweep_until_the_platform_accepts_it(
    sent, receiver, time_machine
):
    _target(receiver, "slack", path="/services/T/B/down")
    receiver.status = 500
    _change, requests = sent()
    delivery = ChatDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at > timezone.now()
    assert chat.send_pending() == 0  # not due yet
    receiver.status = 200
    time_machine.move_to(delivery.next_attempt_at + timedelta(seconds=1))
    assert chat.send_pending() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert len(requests) == 2


def test_a_change_manager_configures_a_target_audited_without_its_secrets(mia, receiver):
    data = {
        "name": "IT approvals",
        "platform": "dingtalk",
        "url": receiver.url + "/robot/send?access_token=secret-token",
        "secret": DINGTALK_SECRET,
        "department": Department.objects.get(code="IT"),
        "policy_step": None,
        "language": "zh-hans",
        "is_active": True,
    }
    target = services.target_save(actor=mia, target_id=None, data=data)
    event = AuditEvent.objects.filter(action="configuration_changed").latest("seq")
    assert event.data["model"] == "chat_target" and event.data["after"]["host"] == "127.0.0.1"
    assert "secret-token" not in json.dumps(event.data)
    assert DINGTALK_SECRET not in json.dumps(event.data)
    services.target_save(actor=mia, target_id=target.pk, data={"is_active": False, "secret": ""})
    target.refresh_from_db()
    assert target.secret == DINGTALK_SECRET and not target.is_active


def test_anyone_else_is_refused_and_nothing_is_saved(hank, receiver):
    from approvals.exceptions import NotAllowed

    before = (ChatTarget.objects.count(), AuditEvent.objects.count())
    with pytest.raises(NotAllowed):
        services.target_save(
            actor=hank,
            target_id=None,
            data={"name": "x", "platform": "slack", "url": receiver.url + "/x"},
        )
    assert (ChatTarget.objects.count(), AuditEvent.objects.count()) == before


def test_a_group_member_who_is_not_signed_in_cannot_decide_from_the_group_message(
    sent, receiver, client
):
    _target(receiver, "wecom", path="/cgi-bin/webhook/send?key=k")
    change, requests = sent()
    content = json.loads(requests[0]["body"])["markdown"]["content"]
    [url] = [part.split(")")[0] for part in content.split("](")[1:]]
    before = (Decision.objects.count(), AuditEvent.objects.count())
    client.logout()
    response = client.post(urlsplit(url).path, {"decision": "approve", "comment": ""})
    assert response.status_code == 302 and "/login" in response["Location"]
    assert (Decision.objects.count(), AuditEvent.objects.count()) == before
    assert open_step(change).status == "pending"
    assert not DecisionLink.objects.exists()


def test_a_message_in_an_approvers_quiet_hours_goes_out_when_they_end(
    sent, receiver, hank, time_machine
):
    from datetime import UTC, datetime, time

    from approvals.models import Profile
    from approvals_channels.models import ChannelPreferences

    Profile.objects.filter(user=hank).update(time_zone="Asia/Shanghai")
    ChannelPreferences.objects.create(user=hank, quiet_start=time(22), quiet_end=time(7))
    time_machine.move_to(datetime(2026, 11, 23, 15, 0, tzinfo=UTC), tick=False)  # 23:00 there
    _target(receiver, "slack", path="/services/T/B/night")
    _change, requests = sent()
    assert requests == []
    delivery = ChatDelivery.objects.get()
    assert delivery.next_attempt_at == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 07:00 there
    time_machine.move_to(datetime(2026, 11, 23, 23, 1, tzinfo=UTC), tick=False)
    assert chat.send_pending() == 1
    assert len(requests) == 1


def test_the_change_manager_adds_a_chat_target_in_the_admin_and_it_is_audited(
    client, mia, receiver
):
    client.force_login(mia)
    assert client.get("/admin/approvals_channels/chattarget/add/").status_code == 200
    reply = client.post(
        "/admin/approvals_channels/chattarget/add/",
        {
            "name": "Finance approvals",
            "platform": "feishu",
            "url": receiver.url + "/open-apis/bot/v2/hook/fin",
            "secret": FEISHU_SECRET,
            "department": Department.objects.get(code="FIN").pk,
            "language": "zh-hans",
            "is_active": "on",
        },
    )
    assert reply.status_code == 302
    target = ChatTarget.objects.get(name="Finance approvals")
    assert target.secret == FEISHU_SECRET
    event = AuditEvent.objects.filter(action="configuration_changed").latest("seq")
    assert event.actor_name == "mia" and event.data["object"] == target.pk
    assert FEISHU_SECRET not in json.dumps(event.data)


def test_an_approver_cannot_reach_the_chat_targets_in_the_admin(client, hank):
    client.force_login(hank)
    reply = client.get("/admin/approvals_channels/chattarget/add/")
    assert reply.status_code == 302 and "/login/" in reply["Location"]
    assert not ChatTarget.objects.exists()
