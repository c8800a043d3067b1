""" "Delete selected" in the admin deletes through the same audited services as one deletion:
every deleted row leaves its own audit event, and no admin that audits a deletion lets a bulk
deletion bypass it."""

import pytest
from django.contrib import admin
from django.contrib.admin import ModelAdmin

from approvals.models import AuditEvent, Department
from approvals_channels.models import ChatTarget
from integrations.models import WebhookSubscription
from tests.helpers import user

pytestmark = pytest.mark.django_db


def _delete_selected(client, url, pks):
    return client.post(
        url,
        {"action": "delete_selected", "_selected_action": [str(pk) for pk in pks], "post": "yes"},
    )


def _targets():
    it = Department.objects.get(code="IT")
    return [
        ChatTarget.objects.create(
            name=f"IT group {n}",
            platform="slack",
            url=f"https://hooks.example.com/{n}",
            department=it,
        )
        for n in (1, 2)
    ]


def test_deleting_selected_chat_targets_records_each_deletion(client, demo):
    targets = _targets()
    before = AuditEvent.objects.count()
    client.force_login(user("mia"))

    response = _delete_selected(
        client, "/admin/approvals_channels/chattarget/", [t.pk for t in targets]
    )

    assert response.status_code == 302
    assert not ChatTarget.objects.exists()
    assert AuditEvent.objects.count() == before + 2
    deleted = AuditEvent.objects.filter(
        action="configuration_changed", data__model="chat_target", data__operation="deleted"
    )
    assert sorted(deleted.values_list("data__object", flat=True)) == sorted(t.pk for t in targets)
    assert set(deleted.values_list("actor_name", flat=True)) == {"mia"}


def test_an_approver_cannot_delete_selected_chat_targets_and_nothing_changes(client, demo):
    targets = _targets()
    before = AuditEvent.objects.count()
    client.force_login(user("hank"))

    response = _delete_selected(
        client, "/admin/approvals_channels/chattarget/", [t.pk for t in targets]
    )

    assert response.status_code in (302, 403)
    assert ChatTarget.objects.count() == 2
    assert AuditEvent.objects.count() == before


def test_deleting_selected_webhook_subscriptions_records_each_deletion(client, demo):
    admin_user = user("admin")
    subscriptions = [
        WebhookSubscription.objects.create(
            name=name, url=f"https://{name}.example/hook", created_by=admin_user
        )
        for name in ("cmdb", "pager")
    ]
    before = AuditEvent.objects.count()
    client.force_login(admin_user)

    response = _delete_selected(
        client, "/admin/integrations/webhooksubscription/", [s.pk for s in subscriptions]
    )

    assert response.status_code == 302
    assert not WebhookSubscription.objects.exists()
    assert AuditEvent.objects.count() == before + 2
    assert (
        AuditEvent.objects.filter(action="configuration_changed", data__model="webhook").count()
        == 2
    )


def test_every_admin_that_audits_a_deletion_audits_a_bulk_deletion_too(rf, django_user_model):
    request = rf.post("/admin/")
    request.user = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    bypassing = [
        type(model_admin).__name__
        for model_admin in admin.site._registry.values()
        if model_admin.has_delete_permission(request)
        and type(model_admin).delete_model is not ModelAdmin.delete_model
        and type(model_admin).delete_queryset is ModelAdmin.delete_queryset
    ]
    assert bypassing == []
