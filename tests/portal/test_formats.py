import datetime
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

from accounts.models import Membership
from clearfacts_app.models import Document
from tests.factories import make_user

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
BRUSSELS = ZoneInfo("Europe/Brussels")
MOMENT = datetime.datetime(2026, 3, 9, 14, 5, tzinfo=BRUSSELS)


def rendered(source: str, language: str, **context) -> str:
    with translation.override(language):
        return Template(source).render(Context(context))


@pytest.mark.parametrize(
    ("language", "short_date", "short_datetime", "long_date"),
    [
        ("en", "09/03/2026", "09/03/2026 14:05", "9 March 2026"),
        ("nl", "9-3-2026", "9-3-2026 14:05", "9 maart 2026"),
        ("fr", "09/03/2026", "09/03/2026 14:05", "9 mars 2026"),
    ],
)
def test_dates_are_written_day_first_in_every_language(language, short_date, short_datetime, long_date):
    moment = {"moment": MOMENT}

    assert rendered('{{ moment|date:"SHORT_DATE_FORMAT" }}', language, **moment) == short_date
    assert rendered('{{ moment|date:"SHORT_DATETIME_FORMAT" }}', language, **moment) == short_datetime
    assert rendered("{{ moment|date }}", language, **moment) == long_date


def test_an_iso_date_from_clearfacts_is_shown_in_the_users_format():
    source = '{% load portal_dates %}{{ value|as_date|date:"SHORT_DATE_FORMAT"|default:"—" }}'

    assert rendered(source, "en", value="2025-01-31") == "31/01/2025"
    assert rendered(source, "fr", value="2025-01-31T10:00:00+01:00") == "31/01/2025"
    assert rendered(source, "en", value="not a date") == "—"
    assert rendered(source, "en", value=None) == "—"


def test_the_documents_page_in_english_shows_belgian_dates(client, office, administration):
    user = make_user(office, role=Membership.Role.MEMBER, administrations=[administration])
    document = Document.objects.create(
        administration=administration,
        uploaded_by=user,
        destination=Document.Destination.INBOX,
        invoice_type=Document.InvoiceType.PURCHASE,
        filename="factuur.pdf",
        file="documents/x.pdf",
        content_type="application/pdf",
        size=1000,
        sha256="0" * 64,
        status=Document.Status.SENT,
    )
    Document.objects.filter(pk=document.pk).update(created_at=MOMENT)
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get("/documents/").content.decode()

    assert "09/03/2026 14:05" in page
    assert "03/09/2026" not in page and "2026-03-09" not in page


def test_no_template_writes_a_date_in_iso_or_us_style():
    suspicious = re.compile(r'\|date:"(Y-m-d|m/d/Y|n/j/Y)|isoformat')
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if not path.is_relative_to(TEMPLATES / "sandbox") and suspicious.search(path.read_text())
    ]
    assert offenders == []
