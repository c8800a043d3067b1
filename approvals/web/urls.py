from django.urls import path

from approvals.web import auditor, catalogue, changes, lists, pages, preferences, queues

app_name = "web"

urlpatterns = [
    path("", changes.dashboard, name="dashboard"),
    path("changes/", lists.change_list, name="change_list"),
    path("changes/export/", lists.change_export, name="change_export"),
    path("changes/filters/", lists.saved_filter_create, name="saved_filter_create"),
    path(
        "changes/filters/<int:filter_id>/delete/",
        lists.saved_filter_remove,
        name="saved_filter_remove",
    ),
    path("changes/new/", changes.change_new, name="change_new"),
    path("changes/route-preview/", changes.route_preview, name="route_preview"),
    path("changes/<int:change_id>/", changes.change_detail, name="change_detail"),
    path("changes/<int:change_id>/edit/", changes.change_edit, name="change_edit"),
    path("changes/<int:change_id>/assess/", queues.assess, name="change_assess"),
    path("changes/<int:change_id>/do/<str:action>/", changes.change_action, name="change_action"),
    path(
        "changes/<int:change_id>/attachments/<int:attachment_id>/",
        changes.attachment_download,
        name="attachment_download",
    ),
    path("inbox/", queues.inbox, name="inbox"),
    path("inbox/<int:change_id>/decide/", queues.inbox_decide, name="inbox_decide"),
    path("inbox/decide/", queues.inbox_bulk_decide, name="inbox_bulk_decide"),
    path("assess/", queues.assessor_queue, name="assessor_queue"),
    path("implement/", queues.implementer_queue, name="implementer_queue"),
    path("calendar/", pages.calendar, name="calendar"),
    path("metrics/", pages.metrics_page, name="metrics"),
    path("metrics/export/", pages.metrics_csv, name="metrics_csv"),
    path("catalogue/", catalogue.catalogue, name="catalogue"),
    path("how-approvals-work/", pages.how_it_works, name="how_it_works"),
    path("settings/", preferences.my_settings, name="my_settings"),
    path("delegations/", pages.delegation_list, name="delegations"),
    path("delegations/<int:delegation_id>/end/", pages.delegation_end, name="delegation_end"),
    path("audit/", auditor.trail, name="audit_trail"),
    path("audit/export/", auditor.trail_export, name="audit_export"),
    path("audit/events/<int:seq>/", auditor.event_detail, name="audit_event"),
    path("audit/snapshots/", auditor.snapshots, name="audit_snapshots"),
    path("audit/verify/", auditor.verify, name="audit_verify"),
    path("audit/compliance/", auditor.compliance, name="audit_compliance"),
]
