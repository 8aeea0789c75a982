from django.db import migrations, models
from django.db.models.fields.json import KeyTransform


class Migration(migrations.Migration):
    dependencies = [
        ("clearfacts_app", "0011_document_count"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                models.F("administration"), KeyTransform("invoice", "data"), name="activity_invoice_idx"
            ),
        ),
    ]
