"""Two-step sign-in: TOTP after the password, enrolment forced where a role requires it,
recovery codes, the API token endpoint, every step audited."""

import pytest
from django.contrib.auth.models import User
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from approvals.identity import mfa
from approvals.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "demo-pass-1"


@pytest.fixture
def managers_need_mfa(settings):
    settings.MFA_REQUIRED_ROLES = ["change_manager", "auditor", "staff"]


def sign_in(client, username):
    return client.post("/accounts/login/", {"username": username, "password": PASSWORD})


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def enrol(user: User) -> list[str]:
    device = mfa.totp_enrolment_start(user=user)
    return mfa.totp_enrolment_confirm(user=user, token=current_code(device))


def allow_the_enrolment_code_again(device: TOTPDevice) -> None:
    """A code is accepted once and a wrong one makes the next attempt wait: a test that cannot
    wait 30 seconds for the next code steps back past both."""
    device.refresh_from_db()
    device.last_t -= 1
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_a_change_manager_without_an_authenticator_is_sent_to_enrolment(
    client, mia, managers_need_mfa
):
    response = sign_in(client, "mia")
    assert response.status_code == 302

    page = client.get("/")

    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/mfa/enrol/")
    assert client.get("/changes/")["Location"].startswith("/accounts/mfa/enrol/")
    assert client.get("/api/v1/changes/").status_code == 403


def test_enrolment_shows_a_qr_code_and_the_key_then_lets_the_change_manager_in(
    client, mia, managers_need_mfa
):
    sign_in(client, "mia")
    page = client.get("/accounts/mfa/enrol/")
    assert page.status_code == 200
    assert b"<svg" in page.content and b"<script>" not in page.content
    device = TOTPDevice.objects.get(user=mia, confirmed=False)

    done = client.post("/accounts/mfa/enrol/", {"token": current_code(device), "next": "/"})

    assert done.status_code == 200
    assert len(done.context["codes"]) == mfa.RECOVERY_CODE_COUNT
    assert client.get("/").status_code == 200
    [event] = events("mfa_enrolled")
    assert event.actor_name == "mia"


def test_a_wrong_enrolment_code_enrols_nothing(client, mia, managers_need_mfa):
    sign_in(client, "mia")
    client.get("/accounts/mfa/enrol/")

    page = client.post("/accounts/mfa/enrol/", {"token": "000000"})

    assert page.status_code == 200 and page.context["form"].errors
    assert not TOTPDevice.objects.filter(user=mia, confirmed=True).exists()
    assert events("mfa_enrolled") == []
    assert client.get("/")["Location"].startswith("/accounts/mfa/enrol/")


def test_an_enrolled_person_gives_a_code_after_the_password(client, hank):
    enrol(hank)
    sign_in(client, "hank")
    assert client.get("/inbox/")["Location"] == "/accounts/mfa/verify/?next=%2Finbox%2F"

    wrong = client.post("/accounts/mfa/verify/", {"code": "123456", "next": "/inbox/"})
    assert wrong.status_code == 200 and wrong.context["form"].errors
    assert client.get("/inbox/").status_code == 302

    device = TOTPDevice.objects.get(user=hank)
    allow_the_enrolment_code_again(device)
    right = client.post("/accounts/mfa/verify/", {"code": current_code(device), "next": "/inbox/"})

    assert right["Location"] == "/inbox/"
    assert client.get("/inbox/").status_code == 200


def test_an_enrolled_person_cannot_replace_the_authenticator_before_giving_a_code(client, hank):
    enrol(hank)
    sign_in(client, "hank")

    page = client.post("/accounts/mfa/enrol/", {"token": "123456"})

    assert page["Location"] == "/accounts/mfa/verify/"
    assert TOTPDevice.objects.filter(user=hank).count() == 1


def test_a_recovery_code_signs_in_once_and_its_use_is_audited(client, hank):
    codes = enrol(hank)
    sign_in(client, "hank")

    used = client.post("/accounts/mfa/verify/", {"code": codes[0], "next": "/"})
    assert used["Location"] == "/"
    [event] = events("mfa_recovery_code_used")
    assert event.data["recovery_codes_left"] == mfa.RECOVERY_CODE_COUNT - 1

    client.post("/accounts/logout/")
    sign_in(client, "hank")
    again = client.post("/accounts/mfa/verify/", {"code": codes[0], "next": "/"})
    assert again.status_code == 200 and again.context["form"].errors
    assert len(events("mfa_recovery_code_used")) == 1


def test_without_a_required_role_the_password_alone_signs_in(client, alice, managers_need_mfa):
    sign_in(client, "alice")

    assert client.get("/").status_code == 200


def test_the_embedded_defaults_require_no_second_factor_of_a_change_manager(client, mia):
    sign_in(client, "mia")

    assert client.get("/").status_code == 200


def test_turning_it_off_is_audited_and_renewing_codes_replaces_them(client, hank):
    client.force_login(hank)
    old = enrol(hank)

    renewed = client.post("/accounts/mfa/", {"action": "renew"})
    new = renewed.context["codes"]
    assert set(new).isdisjoint(old)
    assert not mfa.mfa_verify(user=hank, code=old[1])

    client.post("/accounts/mfa/", {"action": "remove"})

    assert mfa.authenticator_of(hank) is None
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="mfa_")] == [
        "mfa_enrolled",
        "mfa_recovery_codes_renewed",
        "mfa_removed",
    ]


def test_the_api_token_of_an_enrolled_person_needs_the_code(client, hank):
    enrol(hank)
    device = TOTPDevice.objects.get(user=hank)
    body = {"username": "hank", "password": PASSWORD}

    without = client.post("/api/v1/auth/token/", body, content_type="application/json")
    wrong = client.post(
        "/api/v1/auth/token/", body | {"otp": "000000"}, content_type="application/json"
    )
    allow_the_enrolment_code_again(device)
    right = client.post(
        "/api/v1/auth/token/",
        body | {"otp": current_code(device)},
        content_type="application/json",
    )

    assert without.status_code == 400 and "otp" in without.json()
    assert wrong.status_code == 400
    assert right.status_code == 200 and right.json()["token"]
    assert hank.api_tokens.count() == 1


def test_the_api_refuses_a_token_to_a_change_manager_who_has_not_enrolled(
    client, mia, managers_need_mfa
):
    body = {"username": "mia", "password": PASSWORD}

    response = client.post("/api/v1/auth/token/", body, content_type="application/json")

    assert response.status_code == 400
    assert mia.api_tokens.count() == 0
