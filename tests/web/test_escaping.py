"""Text typed by users is shown as text on every page that lists it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals import workflow
from tests.helpers import approve, assessed

pytestmark = pytest.mark.django_db

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_a_hostile_title_is_escaped_everywhere(as_user, alice, hank, ada, ivan, mia, audrey):
    start = timezone.now() + timedelta(days=1)
    window = {"planned_start": start, "planned_end": start + timedelta(hours=1)}
    in_inbox = assessed(alice, title=EVIL, description=EVIL, goal=EVIL, **window)
    workflow.change_comment(actor=alice, change_id=in_inbox.pk, text=EVIL)
    approved = approve("mia", approve("hank", assessed(alice, title=EVIL, **window)))
    workflow.change_submit(
        actor=alice,
        change_id=workflow.change_create(
            actor=alice,
            data={
                "title": EVIL,
                "description": "x",
                "change_type": "normal",
                "impact": "low",
                "departments": [],
                **window,
            },
        ).pk,
    )
    pages = [
        (alice, reverse("web:dashboard")),
        (alice, reverse("web:change_list")),
        (alice, reverse("web:change_detail", args=[in_inbox.pk])),
        (hank, reverse("web:inbox")),
        (ada, reverse("web:assessor_queue")),
        (ivan, reverse("web:implementer_queue")),
        (mia, reverse("web:calendar")),
        (audrey, reverse("web:audit_event", args=[in_inbox.audit_events.first().seq])),
        (alice, reverse("web:change_detail", args=[approved.pk])),
    ]
    for user, url in pages:
        html = as_user(user).get(url).content.decode()
        assert EVIL not in html, url
        assert ESCAPED in html or "&lt;script&gt;" in html, url
