import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from approvals import workflow
from approvals.exceptions import InvalidInput, InvalidTransition, NotAllowed, NotFound
from tests.helpers import new_change, refresh

pytestmark = pytest.mark.django_db


def test_attachment_is_stored_with_its_digest_and_audited(alice, settings):
    change = new_change(alice)
    upload = SimpleUploadedFile(
        "plan.pdf", b"%PDF-1.4 backout plan", content_type="application/pdf"
    )
    attachment = workflow.attachment_add(actor=alice, change_id=change.pk, upload=upload)
    assert attachment.sha256 == hashlib.sha256(b"%PDF-1.4 backout plan").hexdigest()
    assert attachment.file.path.startswith(str(settings.MEDIA_ROOT))
    with attachment.file.open("rb") as stored:
        assert stored.read() == b"%PDF-1.4 backout plan"
    event = refresh(change).audit_events.last()
    assert (event.action, event.data["name"]) == ("attachment_added", "plan.pdf")


@pytest.mark.parametrize(
    "name,content",
    [("tool.exe", b"MZ"), ("noextension", b"x"), ("empty.txt", b"")],
)
def test_forbidden_or_empty_files_are_refused_and_nothing_is_kept(alice, name, content):
    change = new_change(alice)
    with pytest.raises(InvalidInput):
        workflow.attachment_add(
            actor=alice, change_id=change.pk, upload=SimpleUploadedFile(name, content)
        )
    assert not change.attachments.exists()


@override_settings(ATTACHMENT_MAX_BYTES=10)
def test_files_over_the_size_limit_are_refused(alice):
    change = new_change(alice)
    with pytest.raises(InvalidInput, match="limited"):
        workflow.attachment_add(
            actor=alice, change_id=change.pk, upload=SimpleUploadedFile("big.txt", b"x" * 11)
        )


def test_people_who_cannot_see_the_change_cannot_attach(alice, bob, audrey):
    change = new_change(alice)
    with pytest.raises(NotFound):
        workflow.attachment_add(
            actor=bob, change_id=change.pk, upload=SimpleUploadedFile("a.txt", b"a")
        )
    with pytest.raises(NotFound):  # a draft never submitted is its requester's alone
        workflow.attachment_add(
            actor=audrey, change_id=change.pk, upload=SimpleUploadedFile("a.txt", b"a")
        )
    workflow.change_submit(actor=alice, change_id=change.pk)
    with pytest.raises(NotAllowed):
        workflow.attachment_add(
            actor=audrey, change_id=change.pk, upload=SimpleUploadedFile("a.txt", b"a")
        )


def test_a_withdrawn_change_takes_no_more_attachments(alice):
    change = workflow.change_withdraw(actor=alice, change_id=new_change(alice).pk)
    with pytest.raises(InvalidTransition):
        workflow.attachment_add(
            actor=alice, change_id=change.pk, upload=SimpleUploadedFile("a.txt", b"a")
        )
