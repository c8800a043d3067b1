from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LinkChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    CHAT = "chat", _("Chat")


class DecisionLink(models.Model):
    """A one-time, sign-in-free link that lets one approver decide one step.

    Only the SHA-256 of the 256-bit token is stored; the token itself exists only in the message
    that carried it. `decision` is the decision the link proposes (an e-mail's approve or reject
    link); empty, the confirmation page offers both. Only e-mail links decide: chat messages,
    which a group reads, carry none, and a link once issued for chat is not known.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    step = models.ForeignKey(
        "approvals.ApprovalStep", on_delete=models.CASCADE, related_name="decision_links"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="decision_links"
    )
    decision = models.CharField(_("decision"), max_length=16, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=LinkChannel.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("decision link")
        verbose_name_plural = _("decision links")
        indexes = [models.Index(fields=["step", "user"])]

    def __str__(self) -> str:
        return f"link #{self.pk} for step {self.step_id}, user {self.user_id}"


class ChatPlatform(models.TextChoices):
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk group robot")
    FEISHU = "feishu", _("Feishu group robot")
    SLACK = "slack", _("Slack incoming webhook")
    TEAMS = "teams", _("Microsoft Teams incoming webhook")


class ChatTarget(models.Model):
    """A chat group told when a step waits for decision: for changes of one department (affected
    or the requester's), or for one step of one policy."""

    name = models.CharField(_("name"), max_length=100)
    platform = models.CharField(_("platform"), max_length=16, choices=ChatPlatform.choices)
    # WeCom's key and Slack's and Teams' secret path are part of the URL.
    url = models.URLField(_("webhook URL"), max_length=500)
    # DingTalk's and Feishu's signing secret; never shown again once saved.
    secret = models.CharField(_("signing secret"), max_length=200, blank=True)
    department = models.ForeignKey(
        "approvals.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    policy_step = models.ForeignKey(
        "approvals.PolicyStep",
        verbose_name=_("policy step"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    language = models.CharField(
        _("language"),
        max_length=16,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Messages are written in it. Empty: the site's language."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("chat target")
        verbose_name_plural = _("chat targets")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class ChatDelivery(models.Model):
    """One message owed to one chat target for one audit event; retried with backoff until the
    platform accepts it or CHAT_MAX_ATTEMPTS is reached."""

    target = models.ForeignKey(ChatTarget, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("approvals.AuditEvent", on_delete=models.PROTECT, related_name="+")
    step = models.ForeignKey("approvals.ApprovalStep", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("chat delivery")
        verbose_name_plural = _("chat deliveries")
        constraints = [
            models.UniqueConstraint(fields=["target", "event", "step"], name="chat_once_per_event")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"event #{self.event_id} → {self.target_id} ({self.status})"


class ChannelPreferences(models.Model):
    """How one person wants to hear about changes. Without a row: every channel, no quiet
    hours, no digest."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channel_preferences"
    )
    in_app = models.BooleanField(_("in the app"), default=True)
    email = models.BooleanField(_("by e-mail"), default=True)
    chat = models.BooleanField(_("in chat"), default=True)
    # Read in the person's own time zone; a start after the end spans midnight.
    quiet_start = models.TimeField(_("quiet hours from"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours until"), null=True, blank=True)
    digest = models.BooleanField(_("daily digest"), default=False)
    digest_hour = models.PositiveSmallIntegerField(_("digest hour"), default=8)
    digest_sent_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("channel preferences")
        verbose_name_plural = _("channel preferences")

    def __str__(self) -> str:
        return f"preferences of user {self.user_id}"
