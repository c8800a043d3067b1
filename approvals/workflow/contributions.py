"""What people add to a change without moving it: comments and attachments."""

import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from approvals import audit, mentions, outbox
from approvals.choices import ChangeState
from approvals.exceptions import InvalidInput, InvalidTransition
from approvals.limits import NOTE_MAX, clean_text
from approvals.models import Attachment, Comment
from approvals.selectors import load_actor
from approvals.workflow.common import check_version, lock_for_contribution


def change_comment(
    *, actor: User, change_id: int, text: str, expected_version: int | None = None
) -> Comment:
    """Comment on a change whoever can see it, except auditors, while it is open. Each
    `@username` in the text who may see the change is recorded with the comment's audit event,
    and is told (notifications)."""
    text = clean_text(
        text,
        field="text",
        limit=NOTE_MAX,
        required=True,
        required_message=_("A comment cannot be empty."),
    )
    who = load_actor(actor)
    with transaction.atomic():
        change = lock_for_contribution(change_id, who)
        check_version(change, expected_version)
        told = mentions.people_told(change=change, author_id=actor.pk, text=text)
        comment = Comment.objects.create(change=change, author=actor, text=text)
        audit.comment_added(
            change=change,
            actor=actor,
            comment_id=comment.pk,
            text=text,
            mentioned=[(person.id, person.username) for person in told],
        )
        change.save(update_fields=["audit_length", "audit_head"])
        outbox.events_recorded()
    return comment


def attachment_add(*, actor: User, change_id: int, upload: UploadedFile) -> Attachment:
    """Attach background material. Stored outside the web root; size and type limited."""
    name = Path(upload.name or "").name[:200]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    allowed = settings.ATTACHMENT_ALLOWED_EXTENSIONS
    if not name or extension not in allowed:
        raise InvalidInput({"file": [_("Allowed file types: %s.") % ", ".join(allowed)]})
    if upload.size is None or upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise InvalidInput(
            {
                "file": [
                    _("Files are limited to %(mb)d MiB.")
                    % {"mb": settings.ATTACHMENT_MAX_BYTES // 2**20}
                ]
            }
        )
    if upload.size == 0:
        raise InvalidInput({"file": [_("The file is empty.")]})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    who = load_actor(actor)
    with transaction.atomic():
        change = lock_for_contribution(change_id, who)
        if change.state in (ChangeState.CLOSED, ChangeState.REJECTED, ChangeState.WITHDRAWN):
            raise InvalidTransition(_("A closed change takes no more attachments."))
        attachment = Attachment(
            change=change,
            uploaded_by=actor,
            original_name=name,
            content_type=(upload.content_type or "application/octet-stream")[:100],
            size=upload.size,
            sha256=digest.hexdigest(),
        )
        upload.seek(0)
        attachment.file.save(name, upload, save=False)
        try:
            attachment.save()
            audit.attachment_added(
                change=change,
                actor=actor,
                data={
                    "attachment": attachment.pk,
                    "name": name,
                    "size": upload.size,
                    "sha256": attachment.sha256,
                },
            )
            change.save(update_fields=["audit_length", "audit_head"])
        except Exception:
            attachment.file.delete(save=False)
            raise
        outbox.events_recorded()
    return attachment
