"""Reasons become codes with parameters, translated when shown; sent files can be removed later.

Existing reasons were stored as text in the uploader's language (English, Dutch or French): the
ones the portal wrote are recognised and turned into their code; anything else is kept as it was,
as the `text` of a "legacy" reason.
"""

import re

from django.db import migrations, models

# What the portal wrote until now, in each language, with the code each becomes.
KNOWN_REASONS = {
    "duplicate": [
        "This exact file was already uploaded to this administration.",
        "Precies dit bestand werd al naar deze administratie opgeladen.",
        "Ce fichier exact a déjà été déposé dans cette administration.",
    ],
    "outcome-unknown": [
        "Clearfacts may have received this file but did not confirm it. Check the administration in Clearfacts: "
        "send it again only if it is not there.",
        "Clearfacts heeft dit bestand mogelijk ontvangen, maar bevestigde het niet. Kijk de administratie in "
        "Clearfacts na: stuur het enkel opnieuw als het er niet staat.",
        "Clearfacts a peut-être reçu ce fichier, mais ne l'a pas confirmé. Vérifiez l’administration dans "
        "Clearfacts : renvoyez-le seulement s'il n'y est pas.",
    ],
    "file-missing": [
        "The stored copy of this file is missing; upload it again.",
        "De bewaarde kopie van dit bestand ontbreekt; laad het opnieuw op.",
        "La copie enregistrée de ce fichier est introuvable ; déposez-le à nouveau.",
    ],
    "sign-in-refused": [
        "Clearfacts no longer accepts the sign-in of %(user)s.",
        "Clearfacts aanvaardt de aanmelding van %(user)s niet meer.",
        "Clearfacts n'accepte plus la connexion de %(user)s.",
    ],
    "unreachable-gave-up": [
        "Clearfacts could not be reached after %(count)d attempts.",
        "Clearfacts was na %(count)d pogingen niet bereikbaar.",
        "Clearfacts est resté injoignable après %(count)d tentatives.",
    ],
    "too-slow": [
        "Sending took longer than %(minutes)d minutes; try again later.",
        "Het versturen duurde langer dan %(minutes)d minuten; probeer het later opnieuw.",
        "L'envoi a pris plus de %(minutes)d minutes ; réessayez plus tard.",
    ],
    "interrupted": [
        "Sending was interrupted %(count)d times; try again later.",
        "Het versturen werd %(count)d keer onderbroken; probeer het later opnieuw.",
        "L'envoi a été interrompu %(count)d fois ; réessayez plus tard.",
    ],
    # The transport's own (English) words, kept on a document waiting to be sent again.
    "unreachable": ["Clearfacts answered HTTP %(status)d", "Clearfacts could not be reached (%(detail)s)"],
}
PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)([sd])")


def _pattern(template: str) -> re.Pattern:
    def group(match):
        return f"(?P<{match[1]}>\\d+)" if match[2] == "d" else f"(?P<{match[1]}>.+)"

    return re.compile(PLACEHOLDER.sub(group, re.escape(template)))


PATTERNS = [(code, _pattern(template)) for code, templates in KNOWN_REASONS.items() for template in templates]


def reason_of(text: str) -> tuple[str, dict]:
    text = text.strip()
    if not text:
        return "", {}
    for code, pattern in PATTERNS:
        if match := pattern.fullmatch(text):
            if code == "unreachable":
                return code, {}
            return code, {name: int(value) if value.isdigit() else value for name, value in match.groupdict().items()}
    return "legacy", {"text": text}


def reason_text_to_code(apps, schema_editor):
    Document = apps.get_model("clearfacts_app", "Document")
    for document in Document.objects.exclude(error="").only("pk", "error").iterator(chunk_size=500):
        code, params = reason_of(document.error)
        Document.objects.filter(pk=document.pk).update(reason_code=code, reason_params=params)


class Migration(migrations.Migration):
    dependencies = [
        ("clearfacts_app", "0003_document_handover"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="file_removed_at",
            field=models.DateTimeField(
                blank=True,
                help_text="The portal's copy of the file was deleted (DOCUMENT_RETENTION_DAYS after it was sent).",
                null=True,
                verbose_name="local copy removed",
            ),
        ),
        migrations.AddField(
            model_name="document",
            name="reason_code",
            field=models.CharField(blank=True, max_length=30, verbose_name="reason"),
        ),
        migrations.AddField(
            model_name="document",
            name="reason_params",
            field=models.JSONField(blank=True, default=dict, verbose_name="reason details"),
        ),
        migrations.RunPython(reason_text_to_code, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="document",
            name="error",
        ),
    ]
