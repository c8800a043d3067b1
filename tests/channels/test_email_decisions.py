"""Approving from the e-mail: a real SMTP server receives the "please decide" message, a real
browser follows its link, confirms, and the decision is recorded once, with its channel."""

import re

import pytest

from approvals.choices import StepStatus
from approvals.models import AuditEvent, Decision
from approvals_channels.models import DecisionLink
from tests.channels.support import NOTIFY, drain, open_step
from tests.helpers import assessed, counts, decide

pytestmark = pytest.mark.django_db(transaction=True)


def _links(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    approve = re.search(r"(http://\S+/links/[\w-]+/)", text.split("Approve:")[1]).group(1)
    reject = re.search(r"(http://\S+/links/[\w-]+/)", text.split("Reject:")[1]).group(1)
    return text, html, approve, reject


def _mail_for(mailbox, address):
    return [m for m in mailbox.messages if address in m["To"]]


@pytest.fixture
def waiting(alice, settings, live_server, smtp_server, django_capture_on_commit_callbacks):
    """A change waiting on its first step, and the e-mail its approver received."""
    settings.SITE_URL = live_server.url
    settings.AUDIT_EVENT_CONSUMERS = [NOTIFY]
    change = assessed(alice)
    drain(django_capture_on_commit_callbacks)
    step = open_step(change)
    approver = step.approvers.order_by("pk").first()
    [message] = _mail_for(smtp_server, approver.email)
    return change, step, approver, message


@pytest.mark.browser
def test_an_approver_approves_from_the_email_once_and_a_second_click_says_it_was_used(
    waiting, browser, live_server
):
    change, step, approver, message = waiting
    text, html, approve_url, _reject = _links(message)
    assert message["Content-Language"] == "en"
    assert approve_url in html and change.key in html and "Approve" in html

    page = browser.new_page()
    page.goto(approve_url)
    # Opening the link (what a mail scanner does) decides nothing.
    assert page.locator("#confirm-approve").is_visible()
    assert change.key in page.inner_text("#decision-link")
    assert not Decision.objects.filter(step=step).exists()

    page.click("#confirm-approve")
    page.wait_for_selector("#decision-done")
    decision = Decision.objects.get(step=step)
    assert (decision.approver, decision.decision) == (approver, "approve")
    event = AuditEvent.objects.filter(change=change, action="approved").latest("seq")
    link = DecisionLink.objects.get(step=step, user=approver, decision="approve")
    assert event.data["channel"] == "email" and event.data["token_id"] == link.pk
    assert event.actor_name == approver.username

    page.goto(approve_url)
    assert "already used" in page.inner_text("#decision-refused")
    assert not page.locator("#confirm-approve").count()
    assert Decision.objects.filter(step=step).count() == 1
    page.close()


@pytest.mark.browser
def test_a_link_for_a_step_that_moved_on_says_so_and_changes_nothing(waiting, browser, live_server):
    change, step, approver, message = waiting
    _text, _html, approve_url, _reject = _links(message)
    page = browser.new_page()
    page.goto(approve_url)  # the confirmation page is open when the step moves on
    decide(approver.username, change, "approve", step_id=step.pk)
    step.refresh_from_db()
    assert step.status != StepStatus.PENDING
    before = counts(change)

    page.click("#confirm-approve")
    assert "moved on" in page.inner_text("#decision-refused")
    assert counts(change) == before
    page.goto(approve_url)
    assert "moved on" in page.inner_text("#decision-refused")
    page.close()


def test_only_the_hash_of_a_256_bit_token_is_stored_and_it_expires_by_the_step_due_time(waiting):
    change, step, approver, message = waiting
    _text, _html, approve_url, _reject = _links(message)
    token = approve_url.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 bytes in URL-safe base64
    link = DecisionLink.objects.get(step=step, user=approver, decision="approve")
    assert token not in link.token_hash and len(link.token_hash) == 64
    assert link.expires_at <= step.due_at
