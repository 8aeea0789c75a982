"""A status alert counts for one stay in the status: `since` becomes part of its uniqueness."""

from django.db import migrations, models
from django.db.models import F


def fill_since(apps, schema_editor):
    StatusAlert = apps.get_model("invoicing", "StatusAlert")
    StatusAlert.objects.filter(since__isnull=True).update(since=F("raised_at"))


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0010_cockpit_data")]

    operations = [
        migrations.RunPython(fill_since, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="statusalert", name="one_alert_per_status_and_level"),
        migrations.AlterField(
            model_name="statusalert",
            name="since",
            field=models.DateTimeField(verbose_name="in the status since"),
        ),
        migrations.AddConstraint(
            model_name="statusalert",
            constraint=models.UniqueConstraint(
                fields=("submission", "status", "since", "level"), name="one_alert_per_stay_and_level"
            ),
        ),
    ]
