"""LDAP sign-in against a real OpenLDAP server: the directory checks the password, its groups
give the roles and its departmentNumber the department, at every sign-in."""

import pytest
from django.contrib.auth.models import Group, User

from approvals.identity.models import ExternalAccount
from approvals.models import AuditEvent

pytestmark = pytest.mark.django_db


def sign_in(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def roles(user: User) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_a_directory_user_signs_in_with_the_directory_password_and_gets_the_mapped_roles(
    client, ldap_sign_in
):
    response = sign_in(client, "lena", "lena-directory-pass")

    assert response.status_code == 302
    lena = User.objects.get(username="lena")
    assert roles(lena) == {"approver", "cab"}
    assert lena.profile.department.code == "IT"
    assert lena.email == "lena@example.com" and lena.first_name == "Lena"
    assert not lena.has_usable_password()
    assert ExternalAccount.objects.filter(user=lena, source="ldap", subject="lena").exists()
    [event] = AuditEvent.objects.filter(action="roles_changed", data__object=lena.pk)
    assert event.data["source"] == "ldap" and event.data["operation"] == "created"
    assert event.data["after"]["groups"] == ["approver", "cab"]
    assert client.get("/").status_code == 200


def test_a_wrong_directory_password_signs_nobody_in(client, ldap_sign_in):
    response = sign_in(client, "lena", "not-her-password")

    assert response.status_code == 200
    assert not User.objects.filter(username="lena").exists()
    assert not AuditEvent.objects.filter(action="roles_changed").exists()


def test_a_group_removed_in_the_directory_removes_the_role_at_the_next_sign_in(
    client, ldap_sign_in
):
    sign_in(client, "lena", "lena-directory-pass")
    client.post("/accounts/logout/")
    ldap_sign_in.modify(
        "dn: cn=change-board,ou=groups,dc=example,dc=com\n"
        "changetype: modify\n"
        "delete: member\n"
        "member: uid=lena,ou=people,dc=example,dc=com\n"
    )
    try:
        sign_in(client, "lena", "lena-directory-pass")
    finally:
        ldap_sign_in.modify(
            "dn: cn=change-board,ou=groups,dc=example,dc=com\n"
            "changetype: modify\n"
            "add: member\n"
            "member: uid=lena,ou=people,dc=example,dc=com\n"
        )

    lena = User.objects.get(username="lena")
    assert roles(lena) == {"approver"}
    removal = AuditEvent.objects.filter(action="roles_changed", data__object=lena.pk).last()
    assert removal.data["operation"] == "updated" and removal.data["source"] == "ldap"
    assert removal.data["before"]["groups"] == ["approver", "cab"]
    assert removal.data["after"]["groups"] == ["approver"]


def test_a_role_given_by_a_change_manager_outside_the_role_map_survives_sign_in(
    client, ldap_sign_in
):
    sign_in(client, "lena", "lena-directory-pass")
    lena = User.objects.get(username="lena")
    lena.groups.add(Group.objects.get(name="implementer"))
    client.post("/accounts/logout/")
    events = AuditEvent.objects.count()

    sign_in(client, "lena", "lena-directory-pass")

    assert roles(lena) == {"approver", "cab", "implementer"}
    assert AuditEvent.objects.count() == events


def test_a_local_account_is_not_taken_over_by_a_directory_entry_of_the_same_name(
    client, ldap_sign_in
):
    local_admin = User.objects.get(username="admin")
    hashed = local_admin.password

    directory = sign_in(client, "admin", "directory-admin-pass")
    local = sign_in(client, "admin", "demo-pass-1")

    assert directory.status_code == 200  # refused
    assert not ExternalAccount.objects.filter(user=local_admin).exists()
    local_admin.refresh_from_db()
    assert local_admin.password == hashed
    assert local.status_code == 302  # the break-glass account still signs in locally
