"""What a requester meets on the change pages: refusals explained where they happen, the route
before the submit button, and an emergency route that does not promise an assessment."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from approvals.models import Attachment
from tests.helpers import assessed, counts, user

pytestmark = pytest.mark.django_db


def _signed_in(username: str) -> Client:
    client = Client()
    client.force_login(user(username))
    return client


def test_a_refused_attachment_is_explained_on_the_change_page_and_nothing_is_stored(demo):
    change = assessed(user("alice"))
    before = counts(change)
    upload = SimpleUploadedFile("tool.exe", b"MZ", content_type="application/octet-stream")
    response = _signed_in("alice").post(f"/changes/{change.pk}/do/attach/", {"file": upload})
    html = response.content.decode()
    assert response.status_code == 400
    assert change.title in html and 'class="field-errors"' in html  # the change page itself
    assert ".exe" in html or "type" in html.lower()
    assert "Invalid input" not in html
    assert not Attachment.objects.exists() and counts(change) == before


def test_an_attach_without_a_file_says_so_on_the_change_page(demo):
    change = assessed(user("alice"))
    response = _signed_in("alice").post(f"/changes/{change.pk}/do/attach/")
    assert response.status_code == 400
    assert change.title in response.content.decode()


def test_an_inline_refusal_does_not_start_with_invalid_input(demo):
    change = assessed(user("alice"))
    response = _signed_in("hank").post(
        f"/changes/{change.pk}/do/reject/",
        {"step": change.steps.get(order=1).pk, "comment": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="row-1",
    )
    assert response.status_code == 400
    assert "Invalid input" not in response.content.decode()


def test_the_emergency_route_preview_names_the_ecab_and_no_assessor(demo):
    html = (
        _signed_in("alice")
        .get("/changes/route-preview/?change_type=emergency&impact=high")
        .content.decode()
    )
    assert "Emergency CAB" in html
    assert "assessor" not in html.lower()
    normal = _signed_in("alice").get("/changes/route-preview/?change_type=normal&impact=low")
    assert "assessor" in normal.content.decode().lower()


def test_the_route_preview_comes_before_the_submit_button(demo):
    html = _signed_in("alice").get("/changes/new/").content.decode()
    assert html.index('id="route-preview"') < html.index('value="submit"')
    assert 'form="change-form"' in html and 'id="change-form"' in html
