"""Attachment downloads, shared by the pages and the API (visibility is checked by the caller)."""

from django.http import FileResponse
from django.utils.translation import gettext as _

from approvals.exceptions import NotFound
from approvals.models import Attachment


def attachment_response(*, change_id: int, attachment_id: int) -> FileResponse:
    """Stream an attachment of a change. Files live outside the web root; the type the uploader
    declared is not trusted, so browsers download rather than render them."""
    attachment = Attachment.objects.filter(pk=attachment_id, change_id=change_id).first()
    if attachment is None:
        raise NotFound(_("No such attachment."))
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise NotFound(_("The file is missing from storage.")) from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
