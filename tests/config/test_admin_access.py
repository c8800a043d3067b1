"""mia, a change manager who is not a superuser, reaches every configuration page she needs,
and nothing that would let her raise anyone's privileges, her own above all."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from approvals.choices import Role
from approvals.exceptions import NotAllowed
from approvals.workflow import configuration
from tests.config.support import admin_form_data, audit_count

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/",
    "/admin/approvals/policy/",
    "/admin/approvals/policy/add/",
    "/admin/approvals/department/",
    "/admin/approvals/department/add/",
    "/admin/approvals/blackoutwindow/",
    "/admin/approvals/blackoutwindow/add/",
    "/admin/approvals/changetemplate/",
    "/admin/approvals/changetemplate/add/",
    "/admin/approvals/delegation/",
    "/admin/approvals/delegation/add/",
    "/admin/auth/user/",
    "/admin/auth/group/",
    "/admin/approvals/changerequest/",
    "/admin/approvals/auditevent/",
]


@pytest.mark.parametrize("url", PAGES)
def test_the_change_manager_reaches_each_configuration_page(as_mia, mia, url):
    assert not mia.is_superuser
    assert as_mia.get(url).status_code == 200


def test_the_admin_index_lists_what_the_change_manager_configures(as_mia):
    html = as_mia.get("/admin/").content.decode()
    for name in ("Policies", "Departments", "Blackout windows", "Delegations", "Users"):
        assert name in html


def _permissions(group: Group) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def _expected() -> set[str]:
    return {
        f"{app}.{action}_{model}"
        for app, model, actions in configuration.CHANGE_MANAGER_PERMISSIONS
        for action in actions
    }


def test_the_migration_gives_the_change_manager_exactly_these_permissions():
    group = Group.objects.get(name=Role.CHANGE_MANAGER)
    group.permissions.clear()
    migration = importlib.import_module("approvals.migrations.0003_change_manager_permissions")

    migration.grant(apps, None)

    assert _permissions(group) == _expected()
    assert "auth.add_user" not in _permissions(group)
    assert "auth.delete_user" not in _permissions(group)


def test_seeding_the_demo_twice_keeps_the_change_manager_permissions():
    call_command("seed_demo")
    call_command("seed_demo")
    assert _permissions(Group.objects.get(name=Role.CHANGE_MANAGER)) == _expected()
    assert Permission.objects.filter(codename="view_policy").count() == 1


def test_the_user_page_shows_the_change_manager_only_active_roles_and_department(as_mia, bob):
    html = as_mia.get(f"/admin/auth/user/{bob.pk}/change/").content.decode()

    assert 'name="is_active"' in html and 'name="groups"' in html
    assert 'name="profile-0-department"' in html
    for hidden in ("is_superuser", "is_staff", "user_permissions", "password", "email"):
        assert f'name="{hidden}"' not in html
    assert "pbkdf2" not in html and "/password/" not in html


def test_the_change_manager_cannot_make_anyone_staff_or_superuser(as_mia, bob):
    data = admin_form_data(as_mia.get(f"/admin/auth/user/{bob.pk}/change/"))
    data.update({"is_superuser": "on", "is_staff": "on", "user_permissions": ["1"]})

    as_mia.post(f"/admin/auth/user/{bob.pk}/change/", data)

    bob.refresh_from_db()
    assert not bob.is_superuser and not bob.is_staff
    assert not bob.user_permissions.exists()


def test_the_change_manager_cannot_grant_herself_a_role(as_mia, mia):
    cab = Group.objects.get(name=Role.CAB)
    before = audit_count()

    response = as_mia.post(
        f"/admin/auth/user/{mia.pk}/change/",
        {"is_active": "on", "groups": [str(g.pk) for g in mia.groups.all()] + [str(cab.pk)]},
    )

    assert response.status_code == 403
    assert list(mia.groups.values_list("name", flat=True)) == ["change_manager"]
    assert audit_count() == before


def test_the_change_manager_cannot_edit_a_superuser(as_mia, admin):
    before = audit_count()
    response = as_mia.post(f"/admin/auth/user/{admin.pk}/change/", {"is_active": ""})
    admin.refresh_from_db()
    assert response.status_code == 403
    assert admin.is_active and audit_count() == before


def test_the_change_manager_cannot_change_passwords_or_delete_accounts(as_mia, bob):
    assert as_mia.get(f"/admin/auth/user/{bob.pk}/password/").status_code == 403
    assert as_mia.post(f"/admin/auth/user/{bob.pk}/delete/", {"post": "yes"}).status_code == 403
    assert as_mia.get("/admin/auth/user/add/").status_code == 403


def test_roles_are_shown_but_their_permissions_are_not_edited_in_the_admin(as_mia, client, admin):
    group = Group.objects.get(name=Role.CHANGE_MANAGER)
    count = group.permissions.count()
    client.force_login(admin)
    for who in (as_mia, client):
        who.post(f"/admin/auth/group/{group.pk}/change/", {"name": "x", "permissions": []})
    assert group.permissions.count() == count
    assert Group.objects.filter(name=Role.CHANGE_MANAGER).exists()


@pytest.mark.parametrize(
    "change",
    [
        {"values": {"is_staff": True}},
        {"values": {"is_superuser": True}},
        {"values": {"email": "x@example.com"}},
        {"values": {}, "permissions": []},
    ],
    ids=["staff", "superuser", "other fields", "permissions"],
)
def test_the_user_service_refuses_the_change_manager_anything_but_roles_and_department(
    mia, bob, change
):
    before = audit_count()
    with pytest.raises(NotAllowed):
        configuration.user_save(actor=mia, user_id=bob.pk, **change)
    bob.refresh_from_db()
    assert not bob.is_staff and not bob.is_superuser and bob.email == "bob@example.com"
    assert audit_count() == before


def test_nobody_but_a_superuser_sets_their_own_roles(mia, admin):
    before = audit_count()
    with pytest.raises(NotAllowed):
        configuration.user_roles_set(actor=mia, user_id=mia.pk, roles=["change_manager", "cab"])
    assert audit_count() == before

    configuration.user_roles_set(actor=admin, user_id=mia.pk, roles=["change_manager", "cab"])
    assert set(mia.groups.values_list("name", flat=True)) == {"change_manager", "cab"}


def test_only_configurers_set_roles(ada, bob):
    before = audit_count()
    with pytest.raises(NotAllowed):
        configuration.user_roles_set(actor=ada, user_id=bob.pk, roles=["cab"])
    assert list(bob.groups.values_list("name", flat=True)) == ["requester"]
    assert audit_count() == before


def test_roles_set_by_the_service_are_audited_with_before_and_after(mia, bob):
    configuration.user_roles_set(actor=mia, user_id=bob.pk, roles=["requester", "assessor"])

    from tests.config.support import last_event

    event = last_event()
    assert (event.action, event.actor_name) == ("roles_changed", "mia")
    assert event.data["before"]["groups"] == ["requester"]
    assert event.data["after"]["groups"] == ["assessor", "requester"]
