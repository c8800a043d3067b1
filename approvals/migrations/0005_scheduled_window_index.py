from django.db import migrations, models


class Migration(migrations.Migration):
    """Conflict detection looks for scheduled changes whose window overlaps; this partial index
    holds only those, so the lookup stays small however long the history grows."""

    dependencies = [
        ("approvals", "0004_audit_evidence"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="changerequest",
            index=models.Index(
                condition=models.Q(
                    (
                        "state__in",
                        [
                            "submitted",
                            "assessed",
                            "tier_approval",
                            "final_approval",
                            "approved",
                            "implementing",
                        ],
                    )
                ),
                fields=["planned_start", "planned_end"],
                name="change_scheduled_window",
            ),
        ),
    ]
