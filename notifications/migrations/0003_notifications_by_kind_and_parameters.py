from django.db import migrations, models


def keep_written_sentences(apps, schema_editor):
    """Notifications written before kinds and parameters keep their English sentence."""
    Notification = apps.get_model("notifications", "Notification")
    for note in Notification.objects.only("pk", "message", "change_id").iterator():
        params = {"text": note.message}
        if note.change_id:
            params["key"] = f"CHG-{note.change_id:06d}"
        Notification.objects.filter(pk=note.pk).update(params=params)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_outbox_retries_and_dead_letters"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="params",
            field=models.JSONField(blank=True, default=dict, verbose_name="parameters"),
        ),
        migrations.RunPython(keep_written_sentences, migrations.RunPython.noop),
        migrations.RemoveField(model_name="notification", name="message"),
    ]
