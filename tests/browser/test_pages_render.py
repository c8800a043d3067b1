"""Every main page renders in Chromium without script errors, at desktop and phone width."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import workflow
from approvals.models import ApprovalStep
from tests.helpers import approve, assessed, new_change, user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _seed(alice, bob):
    # A window open now: the approved change starts at once.
    start = timezone.now() + timedelta(minutes=5)
    window = {"planned_start": start, "planned_end": start + timedelta(hours=3)}
    new_change(alice, title="Tidy the backup schedule")
    late = assessed(alice, title="Rotate database credentials", impact="medium", **window)
    ApprovalStep.objects.filter(change=late, status="pending").update(
        due_at=timezone.now() - timedelta(hours=3)
    )
    assessed(bob, title="Move payroll export to SFTP", departments=["IT"], **window)
    done = approve("mia", approve("hank", assessed(alice, title="Patch the VPN gateway", **window)))
    workflow.change_comment(
        actor=user("hank"), change_id=late.pk, text="Please attach the runbook."
    )
    workflow.change_start(actor=user("ivan"), change_id=done.pk)
    workflow.change_complete(actor=user("ivan"), change_id=done.pk, outcome="success", notes="ok")
    approve("mia", approve("hank", assessed(alice, title="Upgrade the wiki", **window)))
    return late


PAGES = [
    ("alice", "/", "dashboard"),
    ("alice", "/changes/", "change-list"),
    ("hank", "/inbox/", "inbox"),
    ("ada", "/assess/", "assessor-queue"),
    ("ivan", "/implement/", "implementer-queue"),
    ("mia", "/calendar/", "calendar"),
    ("mia", "/metrics/", "metrics"),
    ("alice", "/how-approvals-work/", "how-approvals-work"),
    ("hank", "/delegations/", "delegations"),
    ("audrey", "/audit/", "audit-trail"),
    ("audrey", "/audit/verify/", "audit-verify"),
]


def test_main_pages_render_without_errors(new_page, shot, alice, bob):
    late = _seed(alice, bob)
    pages = PAGES + [("hank", f"/changes/{late.pk}/", "change-detail")]
    signed_in = {}
    for username, path, name in pages:
        if username not in signed_in:
            signed_in[username] = new_page(username)
        page = signed_in[username]
        page.set_viewport_size({"width": 1280, "height": 900})
        errors = []
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        page.goto(path)
        assert page.locator("h1").count() >= 1
        shot(page, f"page-{name}")
        page.set_viewport_size({"width": 390, "height": 844})
        shot(page, f"page-{name}-phone")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, (name, width)  # no sideways scrolling at phone width
        assert errors == [], (name, errors)
