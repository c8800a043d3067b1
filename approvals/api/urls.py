from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from approvals.api.views.audit import (
    AuditEventListView,
    AuditExportView,
    AuditSnapshotListView,
    AuditVerifyRunView,
    AuditVerifyView,
)
from approvals.api.views.changes import ChangeViewSet
from approvals.api.views.compliance import ComplianceView
from approvals.api.views.delegations import DelegationViewSet
from approvals.api.views.inbox import InboxView
from approvals.api.views.metrics import MetricsView
from approvals.api.views.reference import (
    DepartmentListView,
    MeView,
    PolicyListView,
    TemplateListView,
    not_found,
)
from approvals.api.views.tokens import (
    TokenListView,
    TokenLogoutView,
    TokenRevokeView,
    TokenView,
)
from integrations.api import WebhookSubscriptionViewSet

app_name = "api"

router = SimpleRouter()
router.register("changes", ChangeViewSet, basename="change")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")
router.register("delegations", DelegationViewSet, basename="delegation")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("auth/tokens/", TokenListView.as_view(), name="tokens"),
    path("auth/tokens/<int:token_id>/", TokenRevokeView.as_view(), name="token-revoke"),
    path("auth/logout/", TokenLogoutView.as_view(), name="token-logout"),
    path("inbox/", InboxView.as_view(), name="inbox"),
    path("audit-events/", AuditEventListView.as_view(), name="audit-events"),
    path("audit-events/export/", AuditExportView.as_view(), name="audit-export"),
    path("audit/verify/", AuditVerifyView.as_view(), name="audit-verify"),
    path("audit/verify/<int:run_id>/", AuditVerifyRunView.as_view(), name="audit-verify-run"),
    path("audit-snapshots/", AuditSnapshotListView.as_view(), name="audit-snapshots"),
    path("compliance/", ComplianceView.as_view(), name="compliance"),
    path("departments/", DepartmentListView.as_view(), name="departments"),
    path("policies/", PolicyListView.as_view(), name="policies"),
    path("templates/", TemplateListView.as_view(), name="templates"),
    path("me/", MeView.as_view(), name="me"),
    path("metrics/", MetricsView.as_view(), name="metrics"),
    *router.urls,
    # Anything else under /api/v1/ (malformed ids included) answers JSON, not an HTML page.
    re_path(r"^.*$", not_found),
]
