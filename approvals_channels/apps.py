from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalChannelsConfig(AppConfig):
    """Approvals where approvers already are: decision links in e-mails and chat messages, chat
    robots of WeCom, DingTalk, Feishu, Slack and Teams, and each person's channel preferences."""

    name = "approvals_channels"
    verbose_name = _("Approval channels")
    default_auto_field = "django.db.models.BigAutoField"
