"""How the portal keeps an uploaded file: under a name of its own making with the extension of what
the file is, and only for DOCUMENT_RETENTION_DAYS once Clearfacts has it."""

import io
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from accounts.models import User
from clearfacts_app.models import Document
from sandbox.clearfacts import models as sandbox
from tests import samples
from tests.clearfacts_app.test_documents import ends, upload
from tests.personas import AN, BAKKERIJ


def test_a_file_is_stored_and_sent_under_the_extension_of_what_it_is(browser):
    upload(browser, ("evil.html", samples.pdf()), ("scan.jpeg", samples.JPEG))

    pdf = ends(Document.objects.get(filename="evil.html"), Document.Status.SENT, browser)
    jpeg = ends(Document.objects.get(filename="scan.jpeg"), Document.Status.SENT, browser)
    stored = Path(pdf.file.name).name
    assert stored.endswith(".pdf") and "evil" not in stored and "html" not in stored
    assert Path(jpeg.file.name).suffix == ".jpg"
    assert sorted(sandbox.Document.objects.values_list("filename", flat=True)) == ["evil.pdf", "scan.jpeg"]


def test_a_name_of_spaces_only_is_refused_and_the_rest_goes_through(browser):
    response = upload(browser, ("   ", samples.pdf()), ("goed.pdf", samples.pdf(2)))

    refused = response.text.split('data-testid="upload-refused"', 1)[1].split("</li>", 1)[0]
    assert "needs a name made of ordinary characters" in refused
    assert list(Document.objects.values_list("filename", flat=True)) == ["goed.pdf"]


def sent_document(user, *, days_ago: int) -> Document:
    document = Document.objects.create(
        administration=user.administration_accesses.get().administration,
        uploaded_by=user,
        destination="inbox",
        invoice_type="PURCHASE",
        filename=f"factuur-{days_ago}.pdf",
        content_type="application/pdf",
        size=1,
        sha256=f"{days_ago:064d}",
        status=Document.Status.SENT,
        sent_at=timezone.now() - timedelta(days=days_ago),
    )
    document.file.save(f"{days_ago}.pdf", io.BytesIO(samples.pdf()), save=True)
    return document


def test_the_local_copy_of_a_sent_file_is_removed_after_the_retention_period(browser):
    from clearfacts_app.tasks import remove_sent_files

    an = User.objects.get(email=AN)
    old, recent = sent_document(an, days_ago=31), sent_document(an, days_ago=29)
    old_path, recent_path = Path(old.file.path), Path(recent.file.path)

    with override_settings(DOCUMENT_RETENTION_DAYS=30):
        assert remove_sent_files() == 1
        assert remove_sent_files() == 0, "once"

    old.refresh_from_db(), recent.refresh_from_db()
    assert not old_path.exists() and old.file_removed_at is not None and not old.file
    assert recent_path.exists() and recent.file_removed_at is None
    page = browser.get(f"{browser.portal}/administrations/{BAKKERIJ}/documents/{old.pk}/", timeout=30).text
    assert 'data-testid="file-removed"' in page and "the document stays in Clearfacts" in page


def test_a_retention_of_zero_keeps_every_file(browser):
    from clearfacts_app.tasks import remove_sent_files

    an = User.objects.get(email=AN)
    old = sent_document(an, days_ago=400)

    with override_settings(DOCUMENT_RETENTION_DAYS=0):
        assert remove_sent_files() == 0

    assert Path(old.file.path).exists()


def test_beat_removes_sent_files_on_a_schedule():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "clearfacts_app.tasks.remove_sent_files" in tasks
    assert settings.DOCUMENT_RETENTION_DAYS == 30, "the default"
