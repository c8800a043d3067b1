"""The standard-change catalogue: what each template does, how often it was used and how it went,
and a standard change made from it that says it is pre-approved."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from approvals import workflow
from approvals.choices import ChangeState, TemplateStatus
from approvals.models import ChangeRequest, ChangeTemplate
from tests.helpers import standard_change, user

pytestmark = pytest.mark.django_db

PATCHES = "Monthly OS security patches on application servers"


def _signed_in(username: str) -> Client:
    client = Client()
    client.force_login(user(username))
    return client


def _carried_out(template: ChangeTemplate, outcome: str = "success") -> ChangeRequest:
    change = standard_change(user("alice"), template)
    workflow.change_submit(actor=user("alice"), change_id=change.pk)
    workflow.change_start(actor=user("ivan"), change_id=change.pk)
    return workflow.change_complete(actor=user("ivan"), change_id=change.pk, outcome=outcome)


def test_the_catalogue_shows_each_template_with_its_plans_uses_and_success_rate(demo):
    template = ChangeTemplate.objects.get(name=PATCHES)
    _carried_out(template)
    standard_change(user("alice"), template)  # a draft is not a use
    html = _signed_in("bob").get("/catalogue/").content.decode()
    assert PATCHES in html and escape(template.description) in html
    assert escape(template.backout_plan) in html and escape(template.test_plan) in html
    section = html[html.index(f'id="template-{template.pk}"') :]
    assert "<dt>Times used</dt><dd>1</dd>" in section
    assert "100 %" in section and "1 of 1 succeeded" in section
    assert f"/changes/new/?change_type=standard&amp;template={template.pk}" in section


def test_a_template_never_used_says_no_change_was_carried_out(demo):
    html = _signed_in("alice").get("/catalogue/").content.decode()
    assert "no change carried out yet" in html


def test_a_suspended_template_is_listed_with_its_reason_but_offers_no_new_change(demo):
    template = ChangeTemplate.objects.get(name=PATCHES)
    _carried_out(template, outcome="failed")
    template.refresh_from_db()
    assert template.status == TemplateStatus.SUSPENDED
    html = _signed_in("alice").get("/catalogue/").content.decode()
    section = html[html.index(f'id="template-{template.pk}"') :].split("</article>")[0]
    assert "Suspended" in section and "0 of 1 succeeded" in section
    assert "Create a change from this template" not in section


def test_auditors_read_the_catalogue_without_a_create_button(demo):
    html = _signed_in("audrey").get("/catalogue/").content.decode()
    assert PATCHES in html and "Create a change from this template" not in html


def test_create_from_a_template_opens_the_form_as_a_standard_change_of_that_template(demo):
    template = ChangeTemplate.objects.get(name=PATCHES)
    html = (
        _signed_in("alice")
        .get(f"/changes/new/?change_type=standard&template={template.pk}")
        .content.decode()
    )
    assert f'<option value="{template.pk}" selected>' in html
    assert '<option value="standard" selected>' in html


def _standard_form(chosen: ChangeTemplate, **extra: str) -> dict[str, str]:
    start = timezone.localtime() + timedelta(days=1)
    return {
        "change_type": "standard",
        "template": str(chosen.pk),
        "implementer": "ivan",
        "planned_start": start.strftime("%Y-%m-%dT%H:%M"),
        "planned_end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "intent": "submit",
        **extra,
    }


def test_submitting_a_standard_change_without_an_impact_says_it_is_pre_approved(demo):
    template = ChangeTemplate.objects.get(name=PATCHES)
    response = _signed_in("alice").post("/changes/new/", _standard_form(template), follow=True)
    change = ChangeRequest.objects.get()
    assert change.state == ChangeState.APPROVED and change.impact == template.impact
    html = response.content.decode()
    assert f"{change.key} is pre-approved" in html
    assert f"{change.key} submitted" not in html


def test_a_normal_change_still_needs_its_impact(demo):
    template = ChangeTemplate.objects.get(name=PATCHES)
    form = _standard_form(template, change_type="normal", template="", title="t", description="d")
    response = _signed_in("alice").post("/changes/new/", form)
    assert response.status_code == 400
    assert not ChangeRequest.objects.exists()


def test_the_catalogue_costs_the_same_queries_for_2_and_6_templates(
    demo, django_assert_max_num_queries
):
    client = _signed_in("alice")
    client.get("/catalogue/")

    def cost() -> int:
        with django_assert_max_num_queries(8) as captured:
            assert client.get("/catalogue/").status_code == 200
        return len(captured.captured_queries)

    few = cost()
    template = ChangeTemplate.objects.get(name=PATCHES)
    for index in range(4):
        copy = ChangeTemplate.objects.create(
            name=f"Patch group {index}",
            description=template.description,
            category=template.category,
            impact=template.impact,
            status=TemplateStatus.APPROVED,
            approved_by=user("mia"),
            approved_at=timezone.now(),
        )
        copy.departments.set(template.departments.all())
        _carried_out(copy)
    assert cost() == few
