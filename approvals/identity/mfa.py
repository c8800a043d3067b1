"""Two-step sign-in: a TOTP authenticator (django-otp) with single-use recovery codes.

Required for the roles in MFA_REQUIRED_ROLES (`staff` stands for staff and superusers);
optional for everyone else. After the password (or the directory's sign-in) an enrolled person
gives a code; someone whose role requires it and who has no authenticator enrols first. Every
enrolment, removal, renewal of the recovery codes and use of a recovery code is audited."""

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from approvals import audit, outbox
from approvals.exceptions import InvalidInput

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR = "authenticator"
RECOVERY = "recovery"
# What the session remembers between the password and the second step.
PENDING_SESSION_KEY = "identity_mfa_pending"
VERIFY, ENROL = "verify", "enrol"


def mfa_required(user: User) -> bool:
    """Whether `user`'s roles require a second factor."""
    required = set(settings.MFA_REQUIRED_ROLES)
    if "staff" in required and (user.is_staff or user.is_superuser):
        return True
    roles = required - {"staff"}
    return bool(roles) and user.groups.filter(name__in=roles).exists()


def authenticator_of(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator, if they enrolled one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def mfa_step_after_sign_in(user: User) -> str | None:
    """What comes after the first factor: `verify` (enrolled), `enrol` (required but not
    enrolled) or nothing."""
    if authenticator_of(user) is not None:
        return VERIFY
    if mfa_required(user):
        return ENROL
    return None


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY).count()


def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """The authenticator being enrolled: its secret stays the same until it is confirmed, so
    reloading the enrolment page does not invalidate a code already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=AUTHENTICATOR).first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)


def _recovery_codes_issue(user: User) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def totp_enrolment_confirm(*, user: User, token: str) -> list[str]:
    """Confirm the authenticator with a code it shows; replaces any earlier one and issues fresh
    recovery codes, returned here and never readable again."""
    device = totp_enrolment_start(user=user)
    if not device.verify_token(token.strip()):
        raise InvalidInput({"token": [_("That code is not right; try the current one.")]})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        codes = _recovery_codes_issue(user)
        audit.mfa_recorded(
            user=user, action="mfa_enrolled", data={"recovery_codes": RECOVERY_CODE_COUNT}
        )
        outbox.events_recorded()
    return codes


def recovery_codes_renew(*, user: User) -> list[str]:
    """New recovery codes for an enrolled user; the old ones stop working."""
    if authenticator_of(user) is None:
        raise InvalidInput({"detail": [_("Set up an authenticator first.")]})
    with transaction.atomic():
        codes = _recovery_codes_issue(user)
        audit.mfa_recorded(
            user=user,
            action="mfa_recovery_codes_renewed",
            data={"recovery_codes": RECOVERY_CODE_COUNT},
        )
        outbox.events_recorded()
    return codes


def mfa_verify(*, user: User, code: str) -> bool:
    """Check a code from the authenticator or a recovery code (used up, and audited). Each
    device counts its failures and makes the next attempt wait longer (django-otp's
    throttling), so codes cannot be guessed."""
    code = code.strip().replace(" ", "")
    device = authenticator_of(user)
    if device is not None and code.isdigit() and device.verify_token(code):
        return True
    recovery = StaticDevice.objects.filter(user=user, name=RECOVERY).first()
    if device is None or recovery is None or not recovery.verify_token(code.lower()):
        return False
    with transaction.atomic():
        audit.mfa_recorded(
            user=user,
            action="mfa_recovery_code_used",
            data={"recovery_codes_left": recovery_codes_left(user)},
        )
        outbox.events_recorded()
    return True


def mfa_remove(*, user: User) -> None:
    """Remove the user's authenticator and recovery codes (a role that requires them sends the
    user back to enrolment at the next sign-in)."""
    with transaction.atomic():
        removed, _counts = TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        if removed:
            audit.mfa_recorded(user=user, action="mfa_removed")
            outbox.events_recorded()
