"""The change manager configures policies and their steps, departments, blackout windows,
templates, delegations and users' roles in the admin: every installation gives the role exactly
the model permissions for that, here, not only the demo.

Permissions are normally created after all migrations (post_migrate), so the rows this needs are
created here when missing; post_migrate then finds them and adds nothing."""

from django.db import migrations

ROLE = "change_manager"

# (app label, model, verbose name, actions) as of this migration.
PERMISSIONS = (
    ("approvals", "policy", "policy", ("view", "add", "change", "delete")),
    ("approvals", "policystep", "policy step", ("view", "add", "change", "delete")),
    ("approvals", "department", "department", ("view", "add", "change", "delete")),
    ("approvals", "blackoutwindow", "blackout window", ("view", "add", "change", "delete")),
    (
        "approvals",
        "changetemplate",
        "standard change template",
        ("view", "add", "change", "delete"),
    ),
    ("approvals", "delegation", "delegation", ("view", "add", "change", "delete")),
    ("approvals", "profile", "profile", ("view", "add", "change", "delete")),
    ("auth", "user", "user", ("view", "change")),
    ("auth", "group", "group", ("view",)),
    ("approvals", "changerequest", "change request", ("view",)),
    ("approvals", "auditevent", "audit event", ("view",)),
)


def _permissions(apps):
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    for app_label, model, verbose_name, actions in PERMISSIONS:
        content_type, _ = content_type_model.objects.get_or_create(app_label=app_label, model=model)
        for action in actions:
            permission, _ = permission_model.objects.get_or_create(
                content_type=content_type,
                codename=f"{action}_{model}",
                defaults={"name": f"Can {action} {verbose_name}"},
            )
            yield permission


def grant(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    group, _ = group_model.objects.get_or_create(name=ROLE)
    group.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    group = group_model.objects.filter(name=ROLE).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0002_controls"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
