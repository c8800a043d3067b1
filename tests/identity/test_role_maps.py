"""Role maps: directory groups to roles, checked at start-up; the directory owns only the roles
its map can grant."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured

from approvals.identity.checks import role_maps_valid
from approvals.identity.directory import (
    DirectoryEntry,
    directory_account_sync,
    role_map_parse,
    roles_for_groups,
)
from approvals.models import AuditEvent


def test_a_group_may_give_several_roles_and_groups_match_without_regard_to_case():
    role_map = role_map_parse(" it-heads=approver, CAB=cab ,it-heads=assessor,")

    assert roles_for_groups(groups=["IT-Heads", "canteen"], role_map=role_map) == {
        "approver",
        "assessor",
    }
    assert roles_for_groups(groups=["cab"], role_map=role_map) == {"cab"}


@pytest.mark.parametrize("text", ["it-heads", "it-heads=", "=approver", "it-heads=pope"])
def test_a_role_map_entry_that_grants_no_real_role_is_refused(text):
    with pytest.raises(ImproperlyConfigured):
        role_map_parse(text)


def test_the_start_up_check_names_the_faulty_setting(settings):
    settings.OIDC_ROLE_MAP = "it-heads=pope"
    settings.LDAP_ROLE_MAP = "it-heads=approver"

    [error] = role_maps_valid()

    assert error.id == "identity.E001" and "OIDC_ROLE_MAP" in error.msg


@pytest.mark.django_db
def test_a_department_moved_in_the_directory_is_audited_as_configuration(hank):
    role_map = role_map_parse("it-heads=approver")
    entry = DirectoryEntry(source="ldap", subject="hank", groups=frozenset({"it-heads"}))
    hank.groups.set(Group.objects.filter(name="approver"))
    directory_account_sync(user=hank, entry=entry, role_map=role_map, created=False)
    before = AuditEvent.objects.count()

    moved = DirectoryEntry(
        source="ldap", subject="hank", groups=frozenset({"it-heads"}), department_code="ops"
    )
    directory_account_sync(user=hank, entry=moved, role_map=role_map, created=False)

    hank.profile.refresh_from_db()
    assert hank.profile.department.code == "OPS"
    [event] = AuditEvent.objects.order_by("seq")[before:]
    assert event.action == "configuration_changed" and event.data["source"] == "ldap"
    assert event.data["changed"] == ["department"]


@pytest.mark.django_db
def test_a_sign_in_that_changes_nothing_records_nothing(hank):
    role_map = role_map_parse("it-heads=approver")
    entry = DirectoryEntry(source="ldap", subject="hank", groups=frozenset({"it-heads"}))
    directory_account_sync(user=hank, entry=entry, role_map=role_map, created=False)
    before = AuditEvent.objects.count()

    directory_account_sync(user=hank, entry=entry, role_map=role_map, created=False)

    assert AuditEvent.objects.count() == before
