from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox_clearfacts", "0002_misbehaviour"),
    ]

    operations = [
        migrations.AddField(
            model_name="oauthclient",
            name="connected_app",
            field=models.BooleanField(
                default=False,
                help_text="Clearfacts support connected an app to this integration (updateAppInfo works).",
            ),
        ),
    ]
