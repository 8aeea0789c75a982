"""Why a document is held or failed, and what Clearfacts knows of it, in the reader's language."""

import importlib

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from clearfacts_app.models import Document
from tests import samples
from tests.clearfacts_app.test_documents import ends, upload
from tests.clearfacts_app.test_documents import upload_to_a_category_clearfacts_has_since_deleted as failed_upload
from tests.factories import make_document
from tests.personas import BAKKERIJ


def speak(session, language: str) -> None:
    session.post(
        f"{session.portal}/i18n/setlang/",
        data={"language": language, "next": "/", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=30,
    )


def read(session, path: str, language: str) -> str:
    speak(session, language)
    return session.get(f"{session.portal}{path}", timeout=30).text


def detail_path(document) -> str:
    return f"/administrations/{BAKKERIJ}/documents/{document.pk}/"


def test_a_held_reason_is_shown_in_the_language_of_whoever_reads_it(browser):
    speak(browser, "nl")
    content = samples.pdf()
    upload(browser, ("factuur.pdf", content), ("kopie.pdf", content))
    held = Document.objects.get(filename="kopie.pdf")

    detail = read(browser, detail_path(held), "fr")
    listed = read(browser, f"/administrations/{BAKKERIJ}/documents/", "fr")

    assert held.status == Document.Status.HELD
    for page in (detail, listed):
        assert "Ce fichier exact a déjà été déposé dans cette administration." in page
        assert "Precies dit bestand" not in page


def test_clearfacts_own_words_are_quoted_as_they_came_within_a_translated_sentence(browser):
    document = failed_upload(browser)

    dutch = read(browser, detail_path(document), "nl")
    french = read(browser, detail_path(document), "fr")

    problem = dutch.split('data-testid="document-error">', 1)[1].split("</dd>", 1)[0]
    assert "Clearfacts weigerde het bestand. Clearfacts zei: „Unknown permanent archive category.”" in problem
    assert "Clearfacts a refusé le fichier. Clearfacts a dit : « Unknown permanent archive category. »" in french


@pytest.mark.parametrize(
    ("language", "words", "raw"),
    [("nl", ["Verkoop", "Onbetaald"], ["SALE", "UNPAID"]), ("fr", ["Vente", "Non payée"], ["SALE", "UNPAID"])],
)
def test_the_document_page_shows_clearfacts_values_and_dates_in_the_readers_language(browser, language, words, raw):
    upload(browser, ("factuur.pdf", samples.pdf(2)), invoice_type="SALE")
    document = ends(Document.objects.get(), Document.Status.SENT, browser)

    page = read(browser, detail_path(document), language)

    remote = page.split('data-testid="clearfacts-document"', 1)[1].split("</dl>", 1)[0]
    with translation.override(language):
        today = date_format(timezone.localdate(), "SHORT_DATE_FORMAT")
    assert today in remote and timezone.localdate().isoformat() not in remote
    assert all(word in remote for word in words) and not any(value in remote for value in raw)


@pytest.mark.parametrize(
    ("stored", "code", "params"),
    [
        ("This exact file was already uploaded to this administration.", "duplicate", {}),
        ("Precies dit bestand werd al naar deze administratie opgeladen.", "duplicate", {}),
        ("Clearfacts n'accepte plus la connexion de An Maes.", "sign-in-refused", {"user": "An Maes"}),
        ("Clearfacts was na 9 pogingen niet bereikbaar.", "unreachable-gave-up", {"count": 9}),
        ("L'envoi a été interrompu 3 fois ; réessayez plus tard.", "interrupted", {"count": 3}),
        ("Clearfacts answered HTTP 503", "unreachable", {}),
        ("Unknown permanent archive category.", "legacy", {"text": "Unknown permanent archive category."}),
    ],
)
def test_reasons_stored_as_text_become_codes_and_unknown_ones_are_kept(stored, code, params):
    migration = importlib.import_module("clearfacts_app.migrations.0004_document_reason_codes_and_retention")

    assert migration.reason_of(stored) == (code, params)


def test_a_legacy_reason_is_shown_as_it_was(member, administration):
    document = Document(reason_code="legacy", reason_params={"text": "Iets oud"})

    with translation.override("fr"):
        assert document.reason_text == "Iets oud"


def test_the_admin_shows_the_reason_in_the_staff_members_language(admin_client, member, administration):
    make_document(
        administration,
        member,
        "factuur.pdf",
        sha256="1" * 64,
        status=Document.Status.FAILED,
        reason_code=Document.Reason.GAVE_UP,
        reason_params={"count": 9},
    )
    admin_client.cookies["django_language"] = "nl"

    page = admin_client.get("/admin/clearfacts_app/document/").text

    assert "Clearfacts was na 9 pogingen niet bereikbaar." in page
