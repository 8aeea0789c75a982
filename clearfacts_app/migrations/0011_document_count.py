from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_documents(apps, schema_editor):
    Administration = apps.get_model("clearfacts_app", "Administration")
    Document = apps.get_model("clearfacts_app", "Document")
    counts = (
        Document.objects.filter(administration=OuterRef("pk"))
        .order_by()
        .values("administration")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Administration.objects.update(document_count=Coalesce(Subquery(counts), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("clearfacts_app", "0010_cockpit"),
    ]

    operations = [
        migrations.AddField(
            model_name="administration",
            name="document_count",
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name="documents"),
        ),
        migrations.RunPython(count_documents, migrations.RunPython.noop, elidable=True),
    ]
