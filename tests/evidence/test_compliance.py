"""Compliance over the whole population of a period: a clean run has no exception; planted
breaches of the controls are each found, naming the change and the audit events."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals import audit, workflow
from approvals.evidence.checkpoints import checkpoint_write
from approvals.evidence.compliance import compliance_report
from approvals.models import AuditEvent, ChangeRequest
from tests.api.conftest import token_client
from tests.helpers import approve, assessed, refresh, submitted, user

pytestmark = pytest.mark.django_db


def _period():
    now = timezone.now()
    return {"since": now - timedelta(days=1), "until": now + timedelta(days=10)}


def _approved(alice):
    return approve("mia", approve("hank", assessed(alice)))


def _started_in_window(change):
    with time_machine.travel(change.planned_start + timedelta(minutes=5), tick=False):
        return workflow.change_start(actor=user("ivan"), change_id=change.pk)


def _keep_head(change):
    ChangeRequest.objects.filter(pk=change.pk).update(
        audit_length=change.audit_length, audit_head=change.audit_head, state=change.state
    )


def _exceptions(**period):
    report = compliance_report(**(period or _period())).as_dict()
    return report, [(e["key"], e["control"], e["events"]) for e in report["exceptions"]]


def test_a_clean_period_has_no_exception(alice):
    normal = _started_in_window(_approved(alice))
    with time_machine.travel(normal.planned_start + timedelta(minutes=30), tick=False):
        workflow.change_complete(actor=user("ivan"), change_id=normal.pk, outcome="success")
    emergency = approve("mia", submitted(alice, change_type="emergency"))
    workflow.change_start(actor=user("ivan"), change_id=emergency.pk)
    workflow.change_complete(actor=user("ivan"), change_id=emergency.pk, outcome="success")
    approve("carl", refresh(emergency))  # the retrospective review
    checkpoint_write(now=timezone.now() + timedelta(days=30))  # past the travelled-to events

    report, exceptions = _exceptions()
    assert report["changes_checked"] == 2
    assert exceptions == []
    assert report["checkpoint"]["tree_size"] == AuditEvent.objects.count()
    assert all(control["exceptions"] == 0 for control in report["controls"])


def test_an_approval_recorded_after_the_start_is_an_exception(alice):
    change = refresh(_started_in_window(_approved(alice)))
    started = AuditEvent.objects.get(change=change, action="started")
    step = change.steps.get(kind="final")
    late = audit.step_decided(
        action="approved",
        change=change,
        actor=user("tom"),
        on_behalf_of=None,
        from_state=change.state,
        data={
            "step_id": step.pk,
            "step_kind": "final",
            "step_name": step.name,
            "decision": "approve",
        },
    )
    _keep_head(change)

    _, exceptions = _exceptions()
    assert (change.key, "approved_before_start", [started.seq, late.seq]) in exceptions


def test_a_start_outside_the_approved_window_is_an_exception(alice):
    change = _approved(alice)
    ChangeRequest.objects.filter(pk=change.pk).update(state="implementing")
    change = refresh(change)
    with time_machine.travel(change.planned_end + timedelta(hours=1), tick=False):
        started = audit.change_transitioned(
            action="started", change=change, actor=user("ivan"), from_state="approved"
        )
    _keep_head(change)

    _, exceptions = _exceptions()
    assert [(key, control) for key, control, _ in exceptions] == [(change.key, "started_in_window")]
    assert exceptions[0][2] == [started.seq]


def test_an_emergency_change_completed_without_review_is_an_exception(alice):
    change = approve("mia", submitted(alice, change_type="emergency"))
    workflow.change_start(actor=user("ivan"), change_id=change.pk)
    workflow.change_complete(actor=user("ivan"), change_id=change.pk, outcome="success")
    completed = AuditEvent.objects.get(change=change, action="completed")

    _, exceptions = _exceptions()
    assert exceptions == [(change.key, "reviewed", [completed.seq])]


def test_changes_started_outside_the_period_are_not_counted(alice):
    _started_in_window(_approved(alice))
    now = timezone.now()
    report, _ = _exceptions(since=now - timedelta(days=3), until=now - timedelta(days=2))
    assert report["changes_checked"] == 0


@pytest.mark.parametrize("username,status", [("audrey", 200), ("mia", 200), ("alice", 403)])
def test_the_report_is_for_auditors_and_change_managers(demo, username, status):
    assert token_client(username).get("/api/v1/compliance/").status_code == status


def test_the_report_comes_as_json_or_csv_for_a_period(alice):
    change = _approved(alice)
    ChangeRequest.objects.filter(pk=change.pk).update(state="implementing")
    change = refresh(change)
    with time_machine.travel(change.planned_end + timedelta(hours=1), tick=False):
        audit.change_transitioned(
            action="started", change=change, actor=user("ivan"), from_state="approved"
        )
    _keep_head(change)
    checkpoint_write(now=timezone.now() + timedelta(days=30))
    client = token_client("audrey")
    day = timezone.now().date()
    query = f"since={day - timedelta(days=1)}&until={day + timedelta(days=10)}"

    body = client.get(f"/api/v1/compliance/?{query}").json()
    assert body["changes_checked"] == 1 and body["exceptions"][0]["key"] == change.key
    assert body["checkpoint"]["tree_size"] == AuditEvent.objects.count()
    response = client.get(f"/api/v1/compliance/?{query}&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["key"], r["control"]) for r in rows] == [(change.key, "started_in_window")]
    assert rows[0]["checkpoint_root"] == body["checkpoint"]["root"]


@pytest.mark.parametrize("query", ["since=yesterday", "since=2026-11-02&until=2026-11-01"])
def test_a_malformed_period_is_400(demo, query):
    assert token_client("audrey").get(f"/api/v1/compliance/?{query}").status_code == 400


@pytest.mark.parametrize("username", ["audrey", "mia"])
def test_the_page_lists_the_exceptions_with_their_events(alice, username):
    change = approve("mia", submitted(alice, change_type="emergency"))
    workflow.change_start(actor=user("ivan"), change_id=change.pk)
    workflow.change_complete(actor=user("ivan"), change_id=change.pk, outcome="success")
    completed = AuditEvent.objects.get(change=change, action="completed")
    client = Client()
    client.force_login(user(username))

    html = client.get(reverse("web:audit_compliance")).content.decode()
    assert change.key in html and f"#{completed.seq}" in html
    assert "Every failed and every emergency change was reviewed" in html
    assert client.get(reverse("web:audit_compliance") + "?since=nonsense").status_code == 200
