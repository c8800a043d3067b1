"""Verification runs on a worker: auditors start one (API or page) and read the latest result;
no request recomputes the trail."""

import pgtrigger
import pytest
from django.test import Client
from django.urls import reverse

from approvals.evidence import runs
from approvals.evidence.tasks import audit_verify, audit_verify_scheduled
from approvals.models import AuditEvent, AuditVerification
from tests.api.conftest import token_client
from tests.api.scenarios import at_department_head
from tests.evidence.conftest import checkpoint

pytestmark = pytest.mark.django_db


def _start(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post("/api/v1/audit/verify/")
    return response, queued


def test_before_any_run_the_latest_result_is_unknown(demo):
    body = token_client("audrey").get("/api/v1/audit/verify/").json()
    assert body["ok"] is None and body["run"] is None and body["checkpoint"] is None


def test_an_auditor_starts_a_run_polls_it_and_then_sees_it_as_the_latest(
    demo, django_capture_on_commit_callbacks, monkeypatch
):
    at_department_head()
    checkpoint()
    sent = []
    monkeypatch.setattr(audit_verify, "apply_async", lambda args, **kw: sent.append(args))
    client = token_client("audrey")

    response, queued = _start(client, django_capture_on_commit_callbacks)
    assert response.status_code == 202
    run_id = response.json()["run"]
    assert response.json()["status_url"].endswith(f"/api/v1/audit/verify/{run_id}/")
    assert len(queued) == 1 and sent == [(run_id,)]
    assert client.get(f"/api/v1/audit/verify/{run_id}/").json()["status"] == "queued"
    assert client.get("/api/v1/audit/verify/").json()["ok"] is None

    audit_verify.apply(args=(run_id,))
    polled = client.get(f"/api/v1/audit/verify/{run_id}/").json()
    assert polled["status"] == "done" and polled["ok"] is True
    assert polled["events_checked"] == 3 and polled["first_bad_seq"] is None
    assert polled["checkpoint"]["tree_size"] == 3
    latest = client.get("/api/v1/audit/verify/").json()
    assert latest == polled


def test_a_run_names_the_first_tampered_event(demo, django_capture_on_commit_callbacks):
    change = at_department_head()
    victim = AuditEvent.objects.filter(change=change).order_by("seq")[1]
    with pgtrigger.ignore("approvals.AuditEvent:audit_append_only"):
        AuditEvent.objects.filter(pk=victim.pk).update(data={"forged": True})
    run = runs.verification_request(requested_by=None)
    runs.verification_run(run_id=run.pk)

    body = token_client("audrey").get("/api/v1/audit/verify/").json()
    assert body["ok"] is False and body["first_bad_seq"] == victim.seq


def test_a_run_delivered_twice_verifies_once(demo):
    at_department_head()
    run = runs.verification_request(requested_by=None)
    assert runs.verification_run(run_id=run.pk) is not None
    assert runs.verification_run(run_id=run.pk) is None
    assert AuditVerification.objects.get(pk=run.pk).status == "done"


def test_the_scheduled_run_takes_a_waiting_run_first(demo):
    waiting = runs.verification_request(requested_by=None)
    assert audit_verify_scheduled.apply().get() is True
    assert AuditVerification.objects.get(pk=waiting.pk).status == "done"
    assert AuditVerification.objects.count() == 1


@pytest.mark.parametrize("username", ["alice", "hank", "mia"])
def test_only_auditors_read_or_start_runs(demo, username, django_capture_on_commit_callbacks):
    client = token_client(username)
    assert client.get("/api/v1/audit/verify/").status_code == 403
    response, queued = _start(client, django_capture_on_commit_callbacks)
    assert response.status_code == 403 and not queued
    assert AuditVerification.objects.count() == 0


def test_an_unknown_run_is_404(demo):
    assert token_client("audrey").get("/api/v1/audit/verify/999999/").status_code == 404


def test_the_page_shows_the_latest_run_and_starts_another(
    audrey, django_capture_on_commit_callbacks, monkeypatch
):
    at_department_head()
    monkeypatch.setattr(audit_verify, "apply_async", lambda args, **kw: None)
    client = Client()
    client.force_login(audrey)
    html = client.get(reverse("web:audit_verify")).content.decode()
    assert "No verification has completed yet." in html and "Verify now" in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("web:audit_verify"))
    assert response.status_code == 302
    run = AuditVerification.objects.get()
    assert run.requested_by == audrey
    runs.verification_run(run_id=run.pk)
    html = client.get(reverse("web:audit_verify")).content.decode()
    assert "The audit trail is intact: 3 events checked" in html
