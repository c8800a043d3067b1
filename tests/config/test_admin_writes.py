"""Every configuration write mia makes in the admin lands in the audit trail with its values
before and after — many-to-many values and inline rows included — in one event."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from approvals.audit import verify_chain
from approvals.choices import Role
from approvals.models import BlackoutWindow, Department, Policy, PolicyStep, Profile
from tests.config.support import admin_form_data, audit_count, last_event, split
from tests.helpers import user

pytestmark = pytest.mark.django_db


def _change_page(client, model, pk):
    response = client.get(f"/admin/approvals/{model}/{pk}/change/")
    assert response.status_code == 200
    return admin_form_data(response)


def test_editing_a_department_head_records_the_head_before_and_after(as_mia):
    department = Department.objects.get(code="HR")
    data = _change_page(as_mia, "department", department.pk)
    data["head"] = str(user("rita").pk)
    before = audit_count()

    response = as_mia.post(f"/admin/approvals/department/{department.pk}/change/", data)

    assert response.status_code == 302
    assert audit_count() == before + 1
    event = last_event()
    assert (event.action, event.actor_name, event.chain) == (
        "configuration_changed",
        "mia",
        "system",
    )
    assert event.data["model"] == "department" and event.data["object"] == department.pk
    assert (event.data["before"]["head"], event.data["after"]["head"]) == ("hugo", "rita")
    assert event.data["changed"] == ["head"]
    assert verify_chain().ok


def test_adding_and_deleting_a_department_are_each_one_event(as_mia):
    before = audit_count()
    response = as_mia.post(
        "/admin/approvals/department/add/", {"code": "LEG", "name": "Legal", "head": ""}
    )
    assert response.status_code == 302
    department = Department.objects.get(code="LEG")
    created = last_event()
    assert (created.data["operation"], created.data["before"]) == ("created", None)
    assert created.data["after"] == {"code": "LEG", "name": "Legal", "name_zh": "", "head": None}

    response = as_mia.post(f"/admin/approvals/department/{department.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Department.objects.filter(code="LEG").exists()
    deleted = last_event()
    assert (deleted.data["operation"], deleted.data["after"]) == ("deleted", None)
    assert deleted.data["before"]["code"] == "LEG"
    assert audit_count() == before + 2


def test_a_department_named_on_a_change_cannot_be_deleted(as_mia, alice):
    from tests.helpers import new_change

    new_change(alice, departments=["FIN"])
    finance = Department.objects.get(code="FIN")
    before = audit_count()

    page = as_mia.get(f"/admin/approvals/department/{finance.pk}/delete/")
    response = as_mia.post(f"/admin/approvals/department/{finance.pk}/delete/", {"post": "yes"})

    assert "is named on CHG-" in page.content.decode()
    assert response.status_code in (200, 403)
    assert Department.objects.filter(code="FIN").exists()
    assert audit_count() == before


def test_a_blackout_window_records_its_departments(as_mia):
    starts = timezone.now() + timedelta(days=30)
    date0, time0 = split(starts)
    date1, time1 = split(starts + timedelta(days=2))
    finance, operations = Department.objects.get(code="FIN"), Department.objects.get(code="OPS")
    response = as_mia.post(
        "/admin/approvals/blackoutwindow/add/",
        {
            "name": "Audit week",
            "starts_at_0": date0,
            "starts_at_1": time0,
            "ends_at_0": date1,
            "ends_at_1": time1,
            "reason": "External audit",
            "departments": [finance.pk, operations.pk],
        },
    )
    assert response.status_code == 302
    window = BlackoutWindow.objects.get(name="Audit week")
    assert last_event().data["after"]["departments"] == ["FIN", "OPS"]

    data = _change_page(as_mia, "blackoutwindow", window.pk)
    data.update(
        {
            "starts_at_0": date0,
            "starts_at_1": time0,
            "ends_at_0": date1,
            "ends_at_1": time1,
            "departments": [finance.pk],
        }
    )
    before = audit_count()
    response = as_mia.post(f"/admin/approvals/blackoutwindow/{window.pk}/change/", data)

    assert response.status_code == 302
    assert audit_count() == before + 1
    event = last_event()
    assert event.data["before"]["departments"] == ["FIN", "OPS"]
    assert event.data["after"]["departments"] == ["FIN"]
    assert event.data["changed"] == ["departments"]


def test_editing_a_policy_step_and_its_groups_records_the_steps_before_and_after(as_mia):
    policy = Policy.objects.get(name__startswith="Normal change — high")
    step = policy.steps.get(name="Technical expert")
    data = _change_page(as_mia, "policy", policy.pk)
    index = next(
        key.split("-")[1]
        for key, value in data.items()
        if key.endswith("-id") and value == str(step.pk)
    )
    risk = Group.objects.get(name=Role.RISK_REVIEWER)
    technical = Group.objects.get(name=Role.TECHNICAL_EXPERT)
    data[f"steps-{index}-sla_hours"] = "12"
    data[f"steps-{index}-groups"] = [str(technical.pk), str(risk.pk)]
    before = audit_count()

    response = as_mia.post(f"/admin/approvals/policy/{policy.pk}/change/", data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert audit_count() == before + 1
    event = last_event()
    assert (event.data["model"], event.data["changed"]) == ("policy", ["steps"])
    old = next(s for s in event.data["before"]["steps"] if s["id"] == step.pk)
    new = next(s for s in event.data["after"]["steps"] if s["id"] == step.pk)
    assert (old["sla_hours"], new["sla_hours"]) == (24, 12)
    assert old["groups"] == ["technical_expert"]
    assert new["groups"] == ["risk_reviewer", "technical_expert"]
    step.refresh_from_db()
    assert step.sla_hours == 12


def test_removing_a_policy_step_is_recorded_with_the_step_it_had(as_mia):
    policy = Policy.objects.get(name__startswith="Normal change — high")
    external = policy.steps.get(name="External expert review")
    data = _change_page(as_mia, "policy", policy.pk)
    index = next(
        key.split("-")[1]
        for key, value in data.items()
        if key.endswith("-id") and value == str(external.pk)
    )
    data[f"steps-{index}-DELETE"] = "on"

    response = as_mia.post(f"/admin/approvals/policy/{policy.pk}/change/", data)

    assert response.status_code == 302
    assert not PolicyStep.objects.filter(pk=external.pk).exists()
    event = last_event()
    assert external.pk in [s["id"] for s in event.data["before"]["steps"]]
    assert external.pk not in [s["id"] for s in event.data["after"]["steps"]]


def test_deleting_a_policy_records_it_with_its_steps(as_mia):
    policy = Policy.objects.get(name__startswith="Normal change — high")
    steps = policy.steps.count()

    response = as_mia.post(f"/admin/approvals/policy/{policy.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Policy.objects.filter(pk=policy.pk).exists()
    event = last_event()
    assert event.data["operation"] == "deleted"
    assert len(event.data["before"]["steps"]) == steps


def test_granting_a_role_in_the_admin_is_one_roles_changed_event(as_mia, bob):
    data = admin_form_data(as_mia.get(f"/admin/auth/user/{bob.pk}/change/"))
    implementer = Group.objects.get(name=Role.IMPLEMENTER)
    data["groups"] = data.get("groups", []) + [str(implementer.pk)]
    before = audit_count()

    response = as_mia.post(f"/admin/auth/user/{bob.pk}/change/", data)

    assert response.status_code == 302
    assert audit_count() == before + 1
    event = last_event()
    assert (event.action, event.actor_name) == ("roles_changed", "mia")
    assert (event.data["model"], event.data["object"]) == ("user", bob.pk)
    assert event.data["before"]["groups"] == ["requester"]
    assert event.data["after"]["groups"] == ["implementer", "requester"]
    assert "password" not in event.data["after"]
    assert set(bob.groups.values_list("name", flat=True)) == {"requester", "implementer"}


def test_moving_someone_to_another_department_records_both_departments(as_mia, bob):
    data = admin_form_data(as_mia.get(f"/admin/auth/user/{bob.pk}/change/"))
    data["profile-0-department"] = str(Department.objects.get(code="OPS").pk)

    response = as_mia.post(f"/admin/auth/user/{bob.pk}/change/", data)

    assert response.status_code == 302
    event = last_event()
    assert event.action == "configuration_changed"
    assert (event.data["before"]["department"], event.data["after"]["department"]) == (
        "FIN",
        "OPS",
    )
    assert event.data["changed"] == ["department"]
    assert Profile.objects.get(user=bob).department.code == "OPS"


def test_deactivating_an_account_is_recorded(as_mia, eve):
    data = admin_form_data(as_mia.get(f"/admin/auth/user/{eve.pk}/change/"))
    data.pop("is_active")

    response = as_mia.post(f"/admin/auth/user/{eve.pk}/change/", data)

    assert response.status_code == 302
    eve.refresh_from_db()
    assert not eve.is_active
    assert last_event().data["changed"] == ["is_active"]
