"""The admin keeps need to know: a change manager finds there only the changes and audit events
they may see in the product; a superuser sees everything."""

import pytest
from django.test import Client

from approvals.models import AuditEvent
from tests.helpers import new_change, submitted, user

pytestmark = pytest.mark.django_db


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(user(username))
    return client


def test_a_change_manager_finds_no_private_draft_of_someone_else_in_the_admin(demo):
    draft = new_change(user("alice"), title="SECRET merger cutover", description="TOP SECRET body")
    event = AuditEvent.objects.filter(change=draft).first()
    assert event is not None
    mia = signed_in("mia")
    assert mia.get(f"/changes/{draft.pk}/").status_code == 404

    listing = mia.get("/admin/approvals/changerequest/?q=SECRET")
    detail = mia.get(f"/admin/approvals/changerequest/{draft.pk}/change/")
    events = mia.get(f"/admin/approvals/auditevent/?q={event.action}")
    audit = mia.get(f"/admin/approvals/auditevent/{event.pk}/change/")

    assert listing.status_code == 200 and b"SECRET merger cutover" not in listing.content
    assert detail.status_code == 302 and b"TOP SECRET body" not in detail.content
    assert f"/admin/approvals/auditevent/{event.pk}/change/".encode() not in events.content
    assert audit.status_code == 302


def test_a_change_manager_still_finds_submitted_changes_and_their_events_in_the_admin(demo):
    change = submitted(user("alice"), title="Submitted router swap")
    event = AuditEvent.objects.filter(change=change).first()
    assert event is not None
    mia = signed_in("mia")

    listing = mia.get("/admin/approvals/changerequest/?q=router")
    audit = mia.get(f"/admin/approvals/auditevent/{event.pk}/change/")

    assert b"Submitted router swap" in listing.content
    assert audit.status_code == 200


def test_the_superuser_sees_private_drafts_and_their_events_in_the_admin(demo):
    draft = new_change(user("alice"), title="SECRET merger cutover", description="TOP SECRET body")
    event = AuditEvent.objects.filter(change=draft).first()
    assert event is not None
    admin = signed_in("admin")

    listing = admin.get("/admin/approvals/changerequest/?q=SECRET")
    detail = admin.get(f"/admin/approvals/changerequest/{draft.pk}/change/")
    audit = admin.get(f"/admin/approvals/auditevent/{event.pk}/change/")

    assert b"SECRET merger cutover" in listing.content
    assert detail.status_code == 200 and b"TOP SECRET body" in detail.content
    assert audit.status_code == 200
