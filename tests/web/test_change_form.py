"""The new/edit form: every field, validation next to fields, drafts, submit, attachments."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from approvals import workflow
from approvals.choices import ChangeState
from approvals.models import ChangeRequest, ChangeTemplate
from tests.helpers import new_change

pytestmark = pytest.mark.django_db


def _form(**overrides):
    start = timezone.localtime() + timedelta(days=3)
    data = {
        "title": "Replace the core switch",
        "description": "Swap the ageing switch.",
        "goal": "Fewer outages.",
        "scope": "Data centre A.",
        "expected_impact": "Network blip.",
        "change_type": "normal",
        "category": "infrastructure",
        "impact": "low",
        "departments": ["IT", "OPS"],
        "implementer": "ivan",
        "planned_start": start.strftime("%Y-%m-%dT%H:%M"),
        "planned_end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "backout_plan": "Put the old switch back.",
        "test_plan": "Ping every rack.",
        "intent": "draft",
    }
    data.update(overrides)
    return data


def _standard_form(template, **overrides):
    """What the page sends for a standard change: the template, and only the fields the
    requester sets (category, departments and plans come from the template)."""
    data = _form(
        change_type="standard",
        template=template.pk,
        category="",
        impact=template.impact,
        departments=[],
        backout_plan="",
        test_plan="",
    )
    data.update(overrides)
    return data


def test_the_form_shows_every_field_with_help_texts(as_user, alice):
    html = as_user(alice).get(reverse("web:change_new")).content.decode()
    for name in (
        "title", "description", "goal", "scope", "expected_impact", "change_type", "template",
        "category", "impact", "departments", "implementer", "planned_start", "planned_end",
        "backout_plan", "test_plan", "attachments",
    ):  # fmt: skip
        assert f'name="{name}"' in html, name
    assert "Why the change is needed" in html
    assert 'for="id_title"' in html
    assert "Route preview" in html


def test_saving_a_draft_creates_it_through_the_service_with_departments(as_user, alice):
    response = as_user(alice).post(reverse("web:change_new"), _form())
    change = ChangeRequest.objects.get(title="Replace the core switch")
    assert response["Location"] == reverse("web:change_detail", args=[change.pk])
    assert change.state == ChangeState.DRAFT
    assert sorted(d.code for d in change.departments.all()) == ["IT", "OPS"]
    assert change.implementer.username == "ivan"
    assert change.audit_events.filter(action="created").exists()


def test_save_and_submit_submits(as_user, alice):
    as_user(alice).post(reverse("web:change_new"), _form(intent="submit"))
    assert ChangeRequest.objects.get(title="Replace the core switch").state == ChangeState.SUBMITTED


def test_domain_errors_appear_next_to_their_fields(as_user, alice):
    start = timezone.localtime() + timedelta(days=3)
    response = as_user(alice).post(
        reverse("web:change_new"),
        _form(planned_end=(start - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["planned_end"] == ["The planned end must be after the planned start."]
    assert not ChangeRequest.objects.filter(title="Replace the core switch").exists()


def test_a_high_impact_change_without_plans_is_saved_but_not_submitted(as_user, alice):
    response = as_user(alice).post(
        reverse("web:change_new"),
        _form(impact="high", backout_plan="", test_plan="", intent="submit"),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "Required before submitting" in form.errors["backout_plan"][0]
    assert "Required before submitting" in form.errors["test_plan"][0]
    change = ChangeRequest.objects.get(title="Replace the core switch")
    assert change.state == ChangeState.DRAFT
    assert f'action="{reverse("web:change_edit", args=[change.pk])}"' in response.content.decode()


def test_a_standard_change_needs_its_template(as_user, alice):
    response = as_user(alice).post(reverse("web:change_new"), _form(change_type="standard"))
    assert response.status_code == 400
    assert response.context["form"].errors["template"]
    template = ChangeTemplate.objects.filter(status="approved").first()
    as_user(alice).post(reverse("web:change_new"), _standard_form(template, intent="submit"))
    change = ChangeRequest.objects.get(title="Replace the core switch")
    assert change.state == ChangeState.APPROVED and change.pre_approved


def test_a_standard_change_refuses_values_its_template_owns(as_user, alice):
    template = ChangeTemplate.objects.filter(status="approved").first()
    before = ChangeRequest.objects.count()
    response = as_user(alice).post(
        reverse("web:change_new"),
        _standard_form(template, departments=["IT", "OPS"], backout_plan="Improvise."),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "from its template" in errors["departments"][0]
    assert "from its template" in errors["backout_plan"][0]
    assert ChangeRequest.objects.count() == before


def test_editing_a_draft_updates_it_and_refuses_others(as_user, alice, bob):
    change = new_change(alice)
    url = reverse("web:change_edit", args=[change.pk])
    page = as_user(alice).get(url)
    assert page.status_code == 200
    assert change.title in page.content.decode()
    as_user(alice).post(url, _form(title="Renamed"))
    change.refresh_from_db()
    assert change.title == "Renamed"
    assert as_user(bob).get(url).status_code == 404  # bob cannot even see it


def test_editing_a_submitted_change_is_a_conflict(as_user, alice):
    change = new_change(alice)
    as_user(alice).post(reverse("web:change_action", args=[change.pk, "submit"]))
    response = as_user(alice).get(reverse("web:change_edit", args=[change.pk]))
    assert response.status_code == 409


def test_attachments_upload_with_the_form_and_download_only_for_those_who_see_the_change(
    as_user, alice, ada, bob, hank, settings
):
    upload = SimpleUploadedFile("plan.txt", b"step one", content_type="text/plain")
    as_user(alice).post(reverse("web:change_new"), _form(attachments=[upload]))
    change = ChangeRequest.objects.get(title="Replace the core switch")
    attachment = change.attachments.get()
    assert not str(attachment.file.path).startswith(str(settings.STATIC_ROOT))
    url = reverse("web:attachment_download", args=[change.pk, attachment.pk])
    assert as_user(alice).get(url).status_code == 200
    # a draft never submitted is its requester's alone
    assert as_user(hank).get(url).status_code == 404
    workflow.change_submit(actor=alice, change_id=change.pk)
    response = as_user(ada).get(url)  # the assessor now sees it
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"step one"
    assert "attachment" in response["Content-Disposition"]
    assert as_user(bob).get(url).status_code == 404


def test_a_refused_file_type_is_reported_on_the_field(as_user, alice):
    upload = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    response = as_user(alice).post(reverse("web:change_new"), _form(attachments=[upload]))
    assert response.status_code == 400
    assert "Allowed file types" in response.context["form"].errors["attachments"][0]


@pytest.mark.parametrize(
    "query,expected,absent",
    [
        ("change_type=normal&impact=low", "Final approval (change manager)", "Joint approval"),
        ("change_type=normal&impact=low&departments=FIN", "Joint approval", "Technical expert"),
        ("change_type=normal&impact=high", "External expert review", "Joint approval"),
        ("change_type=emergency&impact=low", "Emergency CAB (ECAB)", "Department head"),
        ("change_type=standard&impact=low", "pre-approved", "Department head"),
    ],
)
def test_the_route_preview_follows_type_impact_and_departments(
    as_user, alice, query, expected, absent
):
    response = as_user(alice).get(
        reverse("web:route_preview") + "?" + query, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert expected in html and absent not in html
    assert "<html" not in html  # a partial for htmx to swap in


def test_the_form_wires_the_preview_to_htmx(as_user, alice):
    html = as_user(alice).get(reverse("web:change_new")).content.decode()
    assert f'hx-get="{reverse("web:route_preview")}"' in html
    assert "change from:[name='change_type']" in html


def test_a_standard_change_takes_title_and_description_from_its_template(as_user, alice):
    template = ChangeTemplate.objects.get(name="Renew a TLS certificate on the load balancer")
    response = as_user(alice).post(
        reverse("web:change_new"),
        _standard_form(template, title="", description="", intent="submit"),
    )
    assert response.status_code == 302
    change = ChangeRequest.objects.get(template=template)
    assert change.title == template.name
    assert change.description == template.description
    assert change.backout_plan == template.backout_plan
    assert change.state == ChangeState.APPROVED


def test_a_normal_change_still_needs_a_title_and_description(as_user, alice):
    template = ChangeTemplate.objects.first()
    response = as_user(alice).post(
        reverse("web:change_new"), _form(template=template.pk, title="", description="")
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["title"] and form.errors["description"]


def test_a_refused_submit_points_to_the_fields_marked_below(as_user, alice):
    response = as_user(alice).post(
        reverse("web:change_new"),
        _form(impact="high", backout_plan="", test_plan="", intent="submit"),
    )
    assert "fix the fields marked below first" in response.content.decode()
