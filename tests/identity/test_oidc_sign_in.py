"""OpenID Connect sign-in, end to end: Chromium clicks the button on our sign-in page, signs in
at a real OpenID provider (a second Django site running django-oidc-provider on a spare port),
and comes back signed in; the authorization-code flow carries PKCE (S256)."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth.models import User

from approvals.identity.models import ExternalAccount
from approvals.models import AuditEvent
from tests.identity.servers import oidc_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "provider-pass"
# Each test signs in as its own person at the provider (started once for the module).
PROVIDER_USERS = f"""
from django.contrib.auth.models import Group, User
for username in ["ines", "jonas", "olga", "kim"]:
    person = User.objects.create_user(
        username, f"{{username}}@example.com", {PASSWORD!r}, first_name=username.title(),
        last_name="Ibarra",
    )
    for name in ["it-heads", "dept-IT", "canteen-committee"]:
        person.groups.add(Group.objects.get_or_create(name=name)[0])
Group.objects.get_or_create(name="change-board")
"""


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory):
    with oidc_provider(
        tmp_path_factory.mktemp("provider"),
        redirect_uri=f"{live_server.url}/oidc/callback/",
        setup_script=PROVIDER_USERS,
    ) as running:
        yield running


@pytest.fixture
def sso(settings, provider):
    """The application configured as the README says, against the provider."""
    settings.OIDC_PROVIDER_NAME = "Example SSO"
    settings.OIDC_RP_CLIENT_ID = provider.client_id
    settings.OIDC_RP_CLIENT_SECRET = provider.client_secret
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = provider.endpoint("authorize")
    settings.OIDC_OP_TOKEN_ENDPOINT = provider.endpoint("token")
    settings.OIDC_OP_USER_ENDPOINT = provider.endpoint("userinfo")
    settings.OIDC_OP_JWKS_ENDPOINT = provider.endpoint("jwks")
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_ROLE_MAP = "it-heads=approver,change-board=cab"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "approvals.identity.oidc.DirectoryOIDCBackend",
    ]
    return provider


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def sign_in_through_the_provider(page, live_server, username):
    authorize_requests = []
    page.on(
        "request",
        lambda r: authorize_requests.append(r.url) if "/openid/authorize" in r.url else None,
    )
    page.goto("/accounts/login/")
    page.click("#sso-sign-in")
    page.wait_for_load_state()
    if not page.url.startswith(live_server.url):  # not yet signed in at the provider
        page.fill("#idp-username", username)
        page.fill("#idp-password", PASSWORD)
        page.click("#idp-submit")
    page.wait_for_url(f"{live_server.url}/")
    return parse_qs(urlparse(authorize_requests[0]).query)


def roles(user: User) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_sso_sign_in_creates_the_user_with_the_mapped_roles_and_department(
    demo_tx, sso, live_server, page
):
    assert page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("#sso-sign-in").inner_text() == "Sign in with Example SSO"

    query = sign_in_through_the_provider(page, live_server, "ines")

    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    ines = User.objects.get(username="ines")
    assert roles(ines) == {"approver"}
    assert ines.profile.department.code == "IT"
    assert ines.email == "ines@example.com" and ines.last_name == "Ibarra"
    assert not ines.has_usable_password()
    assert ExternalAccount.objects.get(user=ines).source == "oidc"
    [event] = AuditEvent.objects.filter(action="roles_changed", data__object=ines.pk)
    assert event.data["source"] == "oidc" and event.data["after"]["groups"] == ["approver"]


def test_a_role_changed_at_the_provider_changes_here_at_the_next_sso_sign_in(
    demo_tx, sso, live_server, page
):
    sign_in_through_the_provider(page, live_server, "jonas")
    page.goto("/")
    page.locator("form[action='/accounts/logout/'] button").first.click()
    sso.run(
        "from django.contrib.auth.models import Group, User\n"
        "jonas = User.objects.get(username='jonas')\n"
        "jonas.groups.remove(Group.objects.get(name='it-heads'))\n"
        "jonas.groups.add(Group.objects.get(name='change-board'))\n"
    )

    sign_in_through_the_provider(page, live_server, "jonas")

    jonas = User.objects.get(username="jonas")
    assert roles(jonas) == {"cab"}
    change = AuditEvent.objects.filter(action="roles_changed", data__object=jonas.pk).last()
    assert change.data["operation"] == "updated" and change.data["source"] == "oidc"
    assert change.data["before"]["groups"] == ["approver"]
    assert change.data["after"]["groups"] == ["cab"]


def test_sso_does_not_take_over_a_local_account_of_the_same_name(demo_tx, sso, live_server, page):
    olga = User.objects.get(username="olga")
    password = olga.password

    page.goto("/accounts/login/")
    page.click("#sso-sign-in")
    page.fill("#idp-username", "olga")
    page.fill("#idp-password", PASSWORD)
    page.click("#idp-submit")
    page.wait_for_url(f"{live_server.url}/accounts/login/?sso=failed")

    assert "Single sign-on did not sign you in" in page.content()
    olga.refresh_from_db()
    assert olga.password == password and not ExternalAccount.objects.exists()


def test_an_sso_user_cannot_sign_in_with_a_local_password(demo_tx, sso, live_server, page, client):
    sign_in_through_the_provider(page, live_server, "kim")

    response = client.post("/accounts/login/", {"username": "kim", "password": PASSWORD})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
