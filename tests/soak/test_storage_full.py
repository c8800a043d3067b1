"""A full disk refuses an attachment with JSON 503 and Retry-After, and records nothing: no
attachment row, no audit event."""

import errno

from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile

from approvals.models import Attachment, AuditEvent
from tests.api.conftest import token_client
from tests.helpers import new_change, user


def test_an_attachment_on_a_full_disk_is_refused_with_503_and_nothing_is_recorded(
    demo, monkeypatch
):
    change = new_change(user("alice"))
    events_before = AuditEvent.objects.count()

    def no_space(self, name, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", no_space)
    file = SimpleUploadedFile("plan.txt", b"the backout plan", content_type="text/plain")
    response = token_client("alice").post(
        f"/api/v1/changes/{change.pk}/attachments/", {"file": file}, format="multipart"
    )

    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["code"] == "storage_full"
    assert Attachment.objects.filter(change=change).count() == 0
    assert AuditEvent.objects.count() == events_before
