# Partial indexes on batch items (see BatchItem.Meta): the item path's updates
# write nothing to them unless the new row is in flight or has an analysis.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("batch", "0003_drop_job_status_index"),
        ("cad", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="batchitem",
            name="batch_batch_tenant__9f50e5_idx",
        ),
        # Only the FK's index goes: AlterField would also drop and re-add the
        # foreign key constraint, which re-checks every row under a lock.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="batchitem",
                    name="analysis",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="cad.analysis",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "batch_batchitem_analysis_id_b0c1ef1a"',
                    reverse_sql='CREATE INDEX "batch_batchitem_analysis_id_b0c1ef1a" '
                    'ON "batch_batchitem" ("analysis_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="batchitem",
            index=models.Index(
                condition=models.Q(
                    ("status", "running"),
                    models.Q(("dispatched_at__isnull", False), ("status", "pending")),
                    _connector="OR",
                ),
                fields=["tenant", "status"],
                name="batchitem_in_flight",
            ),
        ),
        migrations.AddIndex(
            model_name="batchitem",
            index=models.Index(
                condition=models.Q(("analysis__isnull", False)),
                fields=["analysis"],
                name="batchitem_analysis",
            ),
        ),
    ]
