from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IdentitySource(models.TextChoices):
    OIDC = "oidc", _("OpenID Connect")
    LDAP = "ldap", _("LDAP / Active Directory")


class ExternalAccount(models.Model):
    """Links an account to the directory that signs it in. OpenID Connect accounts are matched
    by the provider's stable subject (`sub`), never by e-mail or username, so that a new
    directory entry cannot take over an existing local account."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_accounts"
    )
    source = models.CharField(_("source"), max_length=8, choices=IdentitySource.choices)
    subject = models.CharField(_("subject"), max_length=255)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("external account")
        verbose_name_plural = _("external accounts")
        constraints = [
            models.UniqueConstraint(fields=["source", "subject"], name="identity_one_subject")
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.subject}"
