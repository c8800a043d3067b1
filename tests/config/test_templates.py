"""Standard-change templates: approved by a change manager or the CAB (who and when recorded),
sent back for approval when what they prescribe is edited, suspended when a change from them
fails, retired for good."""

import pytest

from approvals.choices import TemplateStatus as T
from approvals.exceptions import InvalidInput, InvalidTransition, NotAllowed
from approvals.models import ChangeTemplate, Department
from approvals.workflow import templates
from tests.config.support import admin_form_data, audit_count, last_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def patches(demo) -> ChangeTemplate:
    return ChangeTemplate.objects.get(name__startswith="Monthly OS security patches")


@pytest.fixture
def proposed(mia) -> ChangeTemplate:
    return templates.template_save(
        actor=mia,
        template_id=None,
        values={
            "name": "Rotate the backup tapes",
            "description": "Swap the weekly tapes.",
            "category": "infrastructure",
            "impact": "low",
            "backout_plan": "Put the old tapes back.",
            "test_plan": "Read one file back.",
        },
        departments=[Department.objects.get(code="OPS")],
    )


def _state(template: ChangeTemplate) -> tuple:
    template.refresh_from_db()
    return template.status, template.approved_by_id, template.approved_at


def test_a_new_template_is_proposed_and_its_creation_recorded(proposed):
    assert (proposed.status, proposed.approved_by) == (T.PROPOSED, None)
    event = last_event()
    assert (event.action, event.data["operation"]) == ("configuration_changed", "created")
    assert event.data["after"]["departments"] == ["OPS"]


def test_a_change_manager_approves_a_proposed_template_and_the_trail_says_who(proposed, mia):
    templates.template_approve(actor=mia, template_id=proposed.pk)

    status, approved_by, approved_at = _state(proposed)
    assert (status, approved_by) == (T.APPROVED, mia.pk) and approved_at is not None
    event = last_event()
    assert (event.action, event.actor_name) == ("template_approved", "mia")
    assert (event.data["before"]["status"], event.data["after"]["status"]) == (
        "proposed",
        "approved",
    )
    assert event.data["after"]["approved_by"] == "mia"


def test_the_cab_may_approve_a_template_too(proposed, carl):
    templates.template_approve(actor=carl, template_id=proposed.pk)
    assert _state(proposed)[:2] == (T.APPROVED, carl.pk)


@pytest.mark.parametrize("username", ["ada", "alice", "audrey", "admin"])
def test_nobody_else_approves_a_template(proposed, username):
    from tests.helpers import user

    before, count = _state(proposed), audit_count()
    with pytest.raises(NotAllowed):
        templates.template_approve(actor=user(username), template_id=proposed.pk)
    assert _state(proposed) == before and audit_count() == count


def test_an_approved_or_retired_template_cannot_be_approved_again(patches, mia):
    before, count = _state(patches), audit_count()
    with pytest.raises(InvalidTransition):
        templates.template_approve(actor=mia, template_id=patches.pk)
    templates.template_retire(actor=mia, template_id=patches.pk, reason="Replaced.")
    with pytest.raises(InvalidTransition):
        templates.template_approve(actor=mia, template_id=patches.pk)
    assert _state(patches)[0] == T.RETIRED
    assert before[0] == T.APPROVED and audit_count() == count + 1


def test_retiring_needs_a_reason_and_is_recorded(patches, mia):
    count = audit_count()
    with pytest.raises(InvalidInput):
        templates.template_retire(actor=mia, template_id=patches.pk, reason="  ")
    assert _state(patches)[0] == T.APPROVED and audit_count() == count

    templates.template_retire(actor=mia, template_id=patches.pk, reason="Patching is automated.")

    patches.refresh_from_db()
    assert (patches.status, patches.status_reason) == (T.RETIRED, "Patching is automated.")
    event = last_event()
    assert (event.action, event.actor_name) == ("template_retired", "mia")
    with pytest.raises(InvalidTransition):
        templates.template_retire(actor=mia, template_id=patches.pk, reason="Again.")


def test_a_failed_change_suspends_its_template_once_and_approval_restores_it(patches, mia):
    templates.template_suspend(template_id=patches.pk, reason="CHG-000042 failed.", change_id=42)

    patches.refresh_from_db()
    assert patches.status == T.SUSPENDED and not patches.is_active
    event = last_event()
    assert (event.action, event.actor_name, event.data["change"]) == ("template_suspended", "", 42)
    count = audit_count()
    templates.template_suspend(template_id=patches.pk, reason="Another failure.")
    assert audit_count() == count

    templates.template_approve(actor=mia, template_id=patches.pk)
    assert _state(patches)[:2] == (T.APPROVED, mia.pk)


def test_editing_what_an_approved_template_prescribes_needs_approval_again(as_mia, patches):
    data = admin_form_data(as_mia.get(f"/admin/approvals/changetemplate/{patches.pk}/change/"))
    data["impact"] = "critical"

    response = as_mia.post(f"/admin/approvals/changetemplate/{patches.pk}/change/", data)

    assert response.status_code == 302
    assert _state(patches) == (T.PROPOSED, None, None)
    event = last_event()
    assert event.action == "configuration_changed"
    assert (event.data["before"]["impact"], event.data["after"]["impact"]) == ("low", "critical")
    assert (event.data["before"]["status"], event.data["after"]["status"]) == (
        "approved",
        "proposed",
    )


def test_renaming_an_approved_template_keeps_it_approved(as_mia, patches):
    data = admin_form_data(as_mia.get(f"/admin/approvals/changetemplate/{patches.pk}/change/"))
    data["name"] = "OS security patches, monthly"

    as_mia.post(f"/admin/approvals/changetemplate/{patches.pk}/change/", data)

    assert _state(patches)[0] == T.APPROVED
    assert last_event().data["changed"] == ["name"]


def test_the_status_cannot_be_posted_through_the_admin_form(as_mia, proposed):
    data = admin_form_data(as_mia.get(f"/admin/approvals/changetemplate/{proposed.pk}/change/"))
    data.update({"status": "approved", "approved_by": "1"})

    as_mia.post(f"/admin/approvals/changetemplate/{proposed.pk}/change/", data)

    assert _state(proposed) == (T.PROPOSED, None, None)


def test_the_admin_approve_and_retire_actions_call_the_services(as_mia, proposed, mia):
    as_mia.post(
        "/admin/approvals/changetemplate/",
        {"action": "approve", "_selected_action": [proposed.pk]},
    )
    assert _state(proposed)[:2] == (T.APPROVED, mia.pk)

    asked = as_mia.post(
        "/admin/approvals/changetemplate/",
        {"action": "retire", "_selected_action": [proposed.pk]},
    )
    assert asked.status_code == 200 and "Reason" in asked.content.decode()
    assert _state(proposed)[0] == T.APPROVED

    as_mia.post(
        "/admin/approvals/changetemplate/",
        {
            "action": "retire",
            "_selected_action": [proposed.pk],
            "confirm": "yes",
            "reason": "No tapes any more.",
        },
    )
    proposed.refresh_from_db()
    assert (proposed.status, proposed.status_reason) == (T.RETIRED, "No tapes any more.")
    assert last_event().action == "template_retired"
