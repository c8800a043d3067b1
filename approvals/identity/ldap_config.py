"""django-auth-ldap settings built from a few plain values (the environment's, or a test's).
Imported by the settings module: nothing here may touch models."""

from typing import Any

import ldap
from django_auth_ldap.config import (
    GroupOfNamesType,
    GroupOfUniqueNamesType,
    LDAPGroupType,
    LDAPSearch,
    NestedActiveDirectoryGroupType,
    PosixGroupType,
)

# Directory flavours: OpenLDAP's groupOfNames / groupOfUniqueNames / posixGroup, and Active
# Directory's groups (nested membership resolved by the server).
GROUP_TYPES: dict[str, type[LDAPGroupType]] = {
    "groupOfNames": GroupOfNamesType,
    "groupOfUniqueNames": GroupOfUniqueNamesType,
    "posixGroup": PosixGroupType,
    "activeDirectory": NestedActiveDirectoryGroupType,
}


def ldap_settings(
    *,
    server_uri: str,
    bind_dn: str,
    bind_password: str,
    user_search_base: str,
    user_filter: str,
    group_search_base: str,
    group_type: str,
    start_tls: bool = False,
    timeout_seconds: float = 10.0,
) -> dict[str, Any]:
    """The AUTH_LDAP_* settings: bind with a service account, find the user below
    `user_search_base` with `user_filter` (`%(user)s` is the typed username), bind as them to
    check the password, then read their groups below `group_search_base`."""
    if group_type not in GROUP_TYPES:
        raise ValueError(f"LDAP_GROUP_TYPE={group_type!r}: one of {', '.join(GROUP_TYPES)}")
    return {
        "AUTH_LDAP_SERVER_URI": server_uri,
        "AUTH_LDAP_BIND_DN": bind_dn,
        "AUTH_LDAP_BIND_PASSWORD": bind_password,
        "AUTH_LDAP_START_TLS": start_tls,
        "AUTH_LDAP_USER_SEARCH": LDAPSearch(user_search_base, ldap.SCOPE_SUBTREE, user_filter),
        "AUTH_LDAP_GROUP_SEARCH": LDAPSearch(group_search_base, ldap.SCOPE_SUBTREE),
        "AUTH_LDAP_GROUP_TYPE": GROUP_TYPES[group_type](),
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        # Every sign-in reads the directory afresh: a group removed there is a role removed here
        # at the next sign-in.
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_FIND_GROUP_PERMS": False,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,
        "AUTH_LDAP_CONNECTION_OPTIONS": {
            ldap.OPT_REFERRALS: 0,  # Active Directory's referrals lead to other domains
            ldap.OPT_NETWORK_TIMEOUT: timeout_seconds,
            ldap.OPT_TIMEOUT: timeout_seconds,
        },
    }
