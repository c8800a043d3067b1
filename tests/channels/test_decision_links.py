"""Decision links without a browser: what a link may and may not do."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import AuditEvent, Decision
from approvals_channels import links
from approvals_channels.models import DecisionLink
from tests.channels.support import open_step
from tests.helpers import assessed, counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def step(alice):
    return open_step(assessed(alice))


def _path(token):
    return f"/links/{token}/"


def test_a_reject_link_needs_a_reason_and_refuses_without_one_changing_nothing(client, step):
    approver = step.approvers.first()
    token = links.issue(step=step, user=approver, decision="reject", channel="email")
    before = counts(step.change)
    page = client.post(_path(token), {"decision": "reject", "comment": ""})
    assert page.status_code == 400 and b"comment is required" in page.content
    assert counts(step.change) == before
    assert DecisionLink.objects.get(step=step).used_at is None

    page = client.post(_path(token), {"decision": "reject", "comment": "Not in this window."})
    assert page.status_code == 200
    event = AuditEvent.objects.filter(change=step.change, action="rejected").get()
    assert event.data["comment"] == "Not in this window." and event.data["channel"] == "email"


def test_an_approve_link_cannot_reject(client, step):
    token = links.issue(step=step, user=step.approvers.first(), decision="approve", channel="email")
    before = counts(step.change)
    page = client.post(_path(token), {"decision": "reject", "comment": "no"})
    assert page.status_code == 400
    assert counts(step.change) == before


def test_an_expired_link_decides_nothing(client, step, time_machine):
    token = links.issue(step=step, user=step.approvers.first(), decision="approve", channel="email")
    time_machine.move_to(timezone.now() + links.LINK_LIFETIME + timedelta(minutes=1))
    before = counts(step.change)
    page = client.post(_path(token), {"decision": "approve"})
    assert page.status_code == 410 and b"expired" in page.content
    assert counts(step.change) == before


def test_an_unknown_token_is_not_found_and_decides_nothing(client, step):
    before = counts(step.change)
    assert client.get(_path("x" * 43)).status_code == 404
    assert client.post(_path("x" * 43), {"decision": "approve"}).status_code == 404
    assert counts(step.change) == before


def test_a_link_acts_only_as_its_approver_under_every_control(client, step, alice):
    # A link issued to the requester (never an approver of their own change) is refused by the
    # same rules as the pages.
    token = links.issue(step=step, user=alice, decision="approve", channel="email")
    before = counts(step.change)
    page = client.post(_path(token), {"decision": "approve"})
    assert page.status_code == 409
    assert counts(step.change) == before
    assert not Decision.objects.filter(step=step).exists()


def test_a_link_once_issued_for_chat_is_not_known_and_decides_nothing(client, step):
    token = links.issue(step=step, user=step.approvers.first(), decision="", channel="chat")
    before = counts(step.change)
    assert client.get(_path(token)).status_code == 404
    assert client.post(_path(token), {"decision": "approve"}).status_code == 404
    assert counts(step.change) == before
    assert not Decision.objects.filter(step=step).exists()


def test_approving_from_a_link_spends_the_sibling_reject_link(client, step):
    approver = step.approvers.first()
    approve = links.issue(step=step, user=approver, decision="approve", channel="email")
    reject = links.issue(step=step, user=approver, decision="reject", channel="email")
    assert client.post(_path(approve), {"decision": "approve"}).status_code == 200
    page = client.get(_path(reject))
    assert page.status_code == 410 and b"already used" in page.content
