import os

import pytest

from tests.identity.servers import Directory, slapd, slapd_available

# Playwright's sync API runs an event loop in this thread; the ORM calls stay synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

BASE = "dc=example,dc=com"
DIRECTORY_LDIF = f"""\
dn: {BASE}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,{BASE}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE}
objectClass: organizationalUnit
ou: groups

dn: cn=service,{BASE}
objectClass: person
objectClass: simpleSecurityObject
cn: service
sn: service
userPassword: service-secret

dn: uid=lena,ou=people,{BASE}
objectClass: inetOrgPerson
uid: lena
cn: Lena Lin
givenName: Lena
sn: Lin
mail: lena@example.com
departmentNumber: IT
userPassword: lena-directory-pass

dn: uid=admin,ou=people,{BASE}
objectClass: inetOrgPerson
uid: admin
cn: Directory Admin
sn: Admin
userPassword: directory-admin-pass

dn: cn=it-heads,ou=groups,{BASE}
objectClass: groupOfNames
cn: it-heads
member: uid=lena,ou=people,{BASE}

dn: cn=change-board,ou=groups,{BASE}
objectClass: groupOfNames
cn: change-board
member: uid=lena,ou=people,{BASE}
member: uid=admin,ou=people,{BASE}
"""


@pytest.fixture(scope="session")
def directory(tmp_path_factory):
    if not slapd_available():
        pytest.skip("slapd is not installed (apt-get install slapd ldap-utils)")
    with slapd(tmp_path_factory.mktemp("slapd"), DIRECTORY_LDIF, base=BASE) as running:
        yield running


@pytest.fixture
def ldap_sign_in(settings, directory: Directory):
    """The application configured as the README says for OpenLDAP."""
    from approvals.identity.ldap_config import ldap_settings

    for name, value in ldap_settings(
        server_uri=directory.uri,
        bind_dn=f"cn=service,{BASE}",
        bind_password="service-secret",
        user_search_base=f"ou=people,{BASE}",
        user_filter="(uid=%(user)s)",
        group_search_base=f"ou=groups,{BASE}",
        group_type="groupOfNames",
    ).items():
        setattr(settings, name, value)
    settings.LDAP_ROLE_MAP = "it-heads=approver,change-board=cab,auditors=auditor"
    settings.LDAP_DEPARTMENT_ATTRIBUTE = "departmentNumber"
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "approvals.identity.ldap.DirectoryLDAPBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    return directory
