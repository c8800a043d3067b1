"""Attachments: multipart upload through the service, download through a permission check."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from approvals import workflow
from tests.api.conftest import token_client
from tests.api.scenarios import at_department_head, draft, others_draft
from tests.helpers import user

pytestmark = pytest.mark.django_db


def upload(username: str, change_id: int, name: str = "plan.txt", content: bytes = b"step 1"):
    file = SimpleUploadedFile(name, content, content_type="text/plain")
    return token_client(username).post(
        f"/api/v1/changes/{change_id}/attachments/", {"file": file}, format="multipart"
    )


def test_an_uploaded_file_is_listed_and_downloads_intact(demo):
    change = at_department_head()  # hank decides its open step
    created = upload("alice", change.pk, content=b"the backout plan")
    assert created.status_code == 201
    assert created.json()["name"] == "plan.txt" and created.json()["size"] == 16
    listed = token_client("hank").get(f"/api/v1/changes/{change.pk}/attachments/").json()
    assert [a["id"] for a in listed["results"]] == [created.json()["id"]]
    download = token_client("hank").get(created.json()["download"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"the backout plan"
    assert "plan.txt" in download["Content-Disposition"]
    # the uploader's declared type is not trusted: browsers download, never render
    assert download["Content-Type"] == "application/octet-stream"
    assert download["X-Content-Type-Options"] == "nosniff"


def test_an_invisible_changes_attachment_is_404(demo):
    change = others_draft()
    created = upload("bob", change.pk).json()
    assert token_client("bob").get(created["download"]).status_code == 200
    # a draft never submitted is its requester's alone, change managers included
    assert token_client("alice").get(created["download"]).status_code == 404
    assert token_client("mia").get(created["download"]).status_code == 404
    workflow.change_submit(actor=user("bob"), change_id=change.pk)
    assert token_client("alice").get(created["download"]).status_code == 404
    assert token_client("mia").get(created["download"]).status_code == 200


def test_nobody_attaches_a_file_to_a_draft_they_cannot_see(demo):
    change = draft()
    response = upload("hank", change.pk)
    assert response.status_code == 404
    assert not change.attachments.exists()
    assert change.audit_events.count() == 1  # created, nothing more


def test_an_attachment_of_another_change_is_404(demo):
    mine = draft()
    attachment = upload("alice", mine.pk).json()
    other = draft()
    path = f"/api/v1/changes/{other.pk}/attachments/{attachment['id']}/download/"
    assert token_client("alice").get(path).status_code == 404


@pytest.mark.parametrize(("name", "content"), [("evil.exe", b"MZ"), ("empty.txt", b"")])
def test_refused_files_are_400(demo, name, content):
    response = upload("alice", draft().pk, name, content)
    assert response.status_code == 400 and "file" in response.json()


def test_upload_without_a_file_is_400(demo):
    response = token_client("alice").post(
        f"/api/v1/changes/{draft().pk}/attachments/", {"file": "text"}, format="multipart"
    )
    assert response.status_code == 400
