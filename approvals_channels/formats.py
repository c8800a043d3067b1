"""Each chat platform's message format and request signing.

- WeCom (企业微信) group robot: `{"msgtype": "markdown", "markdown": {"content": …}}` POSTed to
  `…/cgi-bin/webhook/send?key=KEY`; the key in the URL is the credential, there is no signature.
- DingTalk (钉钉) group robot: an `actionCard` with one button per approver. Signed robots take
  `timestamp` (milliseconds) and `sign` in the query: HMAC-SHA256 keyed with the secret over
  "timestamp\\nsecret", base64, URL-encoded.
- Feishu (飞书) group robot: an `interactive` card with a header, a lark_md block and buttons.
  Signed robots take `timestamp` (seconds, as a string) and `sign` in the body: HMAC-SHA256
  keyed with "timestamp\\nsecret" over empty data, base64.
- Slack incoming webhook: `text` (the notification fallback) and Block Kit `blocks` with link
  buttons; the secret is the URL's path.
- Microsoft Teams incoming webhook (or Workflows webhook): a message whose attachment is an
  Adaptive Card 1.4 with `Action.OpenUrl` buttons; the secret is the URL.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from approvals_channels.models import ChatPlatform

WECOM_LIMIT = 4096  # bytes of markdown content


@dataclass(frozen=True)
class ChatMessage:
    title: str
    facts: list[tuple[str, str]]
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, URL)


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes


def _md_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "\\`*_[]()#>" else c for c in text)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _markdown(message: ChatMessage, *, heading: bool = True) -> str:
    lines = [f"### {_md_escape(message.title)}"] if heading else []
    lines += [f"**{_md_escape(name)}**: {_md_escape(value)}" for name, value in message.facts]
    return "\n\n".join(lines)


def wecom(message: ChatMessage) -> dict[str, Any]:
    content = _markdown(message)
    for label, url in message.buttons:
        content += f"\n\n[{_md_escape(label)}]({url})"
    while len(content.encode()) > WECOM_LIMIT:  # WeCom refuses longer content
        content = content[: len(content) - 100]
    return {"msgtype": "markdown", "markdown": {"content": content}}


def dingtalk(message: ChatMessage) -> dict[str, Any]:
    return {
        "msgtype": "actionCard",
        "actionCard": {
            "title": message.title,
            "text": _markdown(message),
            "btnOrientation": "0",
            "btns": [{"title": label, "actionURL": url} for label, url in message.buttons],
        },
    }


def feishu(message: ChatMessage) -> dict[str, Any]:
    elements: list[dict[str, Any]] = [
        {"tag": "div", "text": {"tag": "lark_md", "content": _markdown(message, heading=False)}}
    ]
    if message.buttons:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": label},
                        "type": "primary",
                        "url": url,
                    }
                    for label, url in message.buttons
                ],
            }
        )
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {
                "title": {"tag": "plain_text", "content": message.title},
                "template": "blue",
            },
            "elements": elements,
        },
    }


def slack(message: ChatMessage) -> dict[str, Any]:
    facts = "\n".join(
        f"*{_slack_escape(name)}:* {_slack_escape(value)}" for name, value in message.facts
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
    ]
    if message.buttons:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"review-{index}",
                        "text": {"type": "plain_text", "text": label[:75]},
                        "url": url,
                        "style": "primary",
                    }
                    for index, (label, url) in enumerate(message.buttons)
                ],
            }
        )
    return {"text": message.title, "blocks": blocks}


def teams(message: ChatMessage) -> dict[str, Any]:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": message.title,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "FactSet", "facts": [{"title": n, "value": v} for n, v in message.facts]},
        ],
        "actions": [
            {"type": "Action.OpenUrl", "title": label, "url": url} for label, url in message.buttons
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


FORMATS: dict[str, Callable[[ChatMessage], dict[str, Any]]] = {
    ChatPlatform.WECOM: wecom,
    ChatPlatform.DINGTALK: dingtalk,
    ChatPlatform.FEISHU: feishu,
    ChatPlatform.SLACK: slack,
    ChatPlatform.TEAMS: teams,
}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")), not yet URL-encoded."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """base64(HMAC-SHA256(key="timestamp\\nsecret", empty message))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def request_for(
    *, platform: str, url: str, secret: str, message: ChatMessage, now: float
) -> Request:
    """The URL and JSON body to POST for `message`, signed as the platform wants."""
    payload = FORMATS[platform](message)
    if platform == ChatPlatform.DINGTALK and secret:
        timestamp = int(now * 1000)
        sign = quote_plus(dingtalk_sign(secret, timestamp))
        url = f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"
    if platform == ChatPlatform.FEISHU and secret:
        timestamp = int(now)
        payload = {"timestamp": str(timestamp), "sign": feishu_sign(secret, timestamp), **payload}
    return Request(url, json.dumps(payload, ensure_ascii=False).encode())
