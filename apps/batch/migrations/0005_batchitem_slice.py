# Items remember the slice that holds them (see BatchItem.slice).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("batch", "0004_partial_item_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="batchitem",
            name="slice",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
    ]
