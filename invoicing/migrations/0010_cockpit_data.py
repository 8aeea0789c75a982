"""Fills what the cockpit needs on existing submissions, and the platform's default status limits
(docs/cockpit.md: why each one)."""

import json
from datetime import timedelta

from django.db import migrations

DEFAULT_LIMITS = [
    # (country, status, counted from, first alert, second alert)
    ("PL", "PENDING", "status", timedelta(minutes=10), timedelta(hours=1)),
    ("IT", "PENDING", "status", timedelta(hours=48), timedelta(days=5)),
    ("", "PENDING", "status", timedelta(hours=4), timedelta(hours=24)),
    ("IT", "UNDELIVERED", "deadline", timedelta(days=3), timedelta(days=1)),
    ("", "SUBMITTING", "status", timedelta(minutes=30), timedelta(hours=4)),
]


def forwards(apps, schema_editor):
    Submission = apps.get_model("invoicing", "Submission")
    StatusLimit = apps.get_model("invoicing", "StatusLimit")
    for submission in Submission.objects.only("pk", "body", "submitted_at", "created_at", "updated_at").iterator():
        try:
            number = str(json.loads(bytes(submission.body)).get("invoiceNumber", ""))[:50]
        except (ValueError, AttributeError):
            number = ""
        since = submission.updated_at if submission.submitted_at else submission.created_at
        Submission.objects.filter(pk=submission.pk).update(invoice_number=number, status_since=since)
    for country, status, counted_from, first, second in DEFAULT_LIMITS:
        StatusLimit.objects.get_or_create(
            country=country,
            status=status,
            defaults={"counted_from": counted_from, "first_after": first, "second_after": second},
        )


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0009_cockpit")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
