import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from approvals.audit import verify_chain
from approvals.models import AuditEvent, Department, Policy, PolicyStep

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_installs_the_demo_organisation():
    call_command("seed_demo")
    counts = (
        get_user_model().objects.count(),
        Department.objects.count(),
        Policy.objects.count(),
        PolicyStep.objects.count(),
    )
    call_command("seed_demo")
    assert counts == (
        get_user_model().objects.count(),
        Department.objects.count(),
        Policy.objects.count(),
        PolicyStep.objects.count(),
    )
    assert dict(Department.objects.values_list("code", "head__username")) == {
        "FIN": "fiona",
        "HR": "hugo",
        "IT": "hank",
        "OPS": "olga",
    }
    assert get_user_model().objects.get(username="admin").check_password("demo-pass-1")
    assert Policy.objects.count() == 5


@pytest.mark.parametrize(
    "url",
    [
        "/admin/approvals/department/",
        "/admin/auth/user/",
        "/admin/approvals/policy/",
        "/admin/approvals/auditevent/",
        "/admin/approvals/blackoutwindow/",
        "/admin/approvals/changetemplate/",
        "/admin/approvals/delegation/",
    ],
)
def test_admin_sees_the_configuration(client, admin, url):
    client.force_login(admin)
    assert client.get(url).status_code == 200


def test_admin_shows_the_demo_departments_users_and_policies(client, admin):
    client.force_login(admin)
    assert "Human Resources" in client.get("/admin/approvals/department/").content.decode()
    assert "audrey" in client.get("/admin/auth/user/").content.decode()
    policy = Policy.objects.get(name__startswith="Normal change — high")
    page = client.get(f"/admin/approvals/policy/{policy.pk}/change/").content.decode()
    assert "External expert review" in page


def test_policy_edit_in_admin_is_audited_on_the_system_chain(client, admin):
    client.force_login(admin)
    department = Department.objects.get(code="HR")
    response = client.post(
        f"/admin/approvals/department/{department.pk}/change/",
        {
            "code": "HR",
            "name": "People and Culture",
            "name_zh": department.name_zh,
            "head": department.head_id,
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.filter(chain="system").last()
    assert (event.action, event.actor_name) == ("configuration_changed", "admin")
    assert (event.data["model"], event.data["operation"]) == ("department", "updated")
    assert event.data["before"]["name"] == "Human Resources"
    assert event.data["after"]["name"] == "People and Culture"
    assert event.data["changed"] == ["name"]
    assert verify_chain().ok


def test_audit_events_are_read_only_in_admin(client, admin, alice):
    from tests.helpers import new_change

    event = new_change(alice).audit_events.first()
    client.force_login(admin)
    page = client.get(f"/admin/approvals/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert (
        client.post(f"/admin/approvals/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_seed_demo_installs_the_year_end_freeze_but_test_data_leaves_it_out():
    from approvals.models import BlackoutWindow

    assert not BlackoutWindow.objects.filter(name__startswith="Year-end freeze").exists()
    call_command("seed_demo")
    assert BlackoutWindow.objects.filter(name__startswith="Year-end freeze").count() == 1
