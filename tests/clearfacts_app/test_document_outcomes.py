"""Sending a document exactly once when things go wrong halfway: lost answers, lost tasks, crashes,
missing files, the same file twice, and batches too large to take in."""

import io
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.models import User
from clearfacts_app import client, documents
from clearfacts_app.models import Document
from sandbox.clearfacts import models as sandbox
from sandbox.models import RequestLog
from tests import samples
from tests.clearfacts_app.test_documents import AN, BAKKERIJ, browser, ends, upload  # noqa: F401 (fixture)
from tests.conftest import wait_until
from tests.portal_site import sign_in

Status = Document.Status


@pytest.fixture
def an(portal):
    sign_in(portal, AN)
    return User.objects.get(email=AN)


def queued_document(user, **fields) -> Document:
    """A document recorded and queued, whose task has not run (the tests run it here)."""
    document = Document.objects.create(
        administration=user.administration_accesses.get().administration, uploaded_by=user, destination="inbox",
        invoice_type="PURCHASE", filename="factuur.pdf", content_type="application/pdf", size=1, sha256="0" * 64,
        **fields,
    )  # fmt: skip
    document.file.save("factuur.pdf", io.BytesIO(samples.pdf()), save=True)
    return document


def test_an_answer_lost_after_the_whole_file_was_sent_holds_the_document_for_the_user(an, portal):
    document = queued_document(an)

    # Clearfacts takes the file, but its answer comes after the portal stopped waiting.
    with override_settings(CLEARFACTS_UPLOAD_ANSWER_TIMEOUT=0.5, SANDBOX_LATENCY_MS=1500):
        status = documents.document_send(document_id=document.pk, last_attempt=False)

    document.refresh_from_db()
    assert status == document.status == Status.HELD
    assert "may have received this file" in document.error
    wait_until(lambda: sandbox.Document.objects.exists(), message="the sandbox to store the upload")
    time.sleep(1)
    assert sandbox.Document.objects.count() == 1, "not sent again by itself"
    assert Document.objects.get().status == Status.HELD
    session, _ = sign_in(portal, AN)
    session.cookies.set("django_language", "en")
    page = session.get(f"{portal.url}/administrations/{BAKKERIJ}/documents/{document.pk}/", timeout=30)
    assert "may have received this file" in page.text and "Send it anyway" in page.text


def test_a_connection_that_never_opened_is_retried_later(an):
    document = queued_document(an)

    with override_settings(CLEARFACTS_GRAPHQL_URL="http://127.0.0.1:9/graphql"), pytest.raises(client.Unavailable):
        documents.document_send(document_id=document.pk, last_attempt=False)

    document.refresh_from_db()
    assert document.status == Status.QUEUED and "could not be reached" in document.error


def test_a_document_whose_stored_file_is_gone_fails_with_a_reason(an):
    document = queued_document(an)
    document.file.delete(save=False)

    assert documents.document_send(document_id=document.pk, last_attempt=False) == Status.FAILED

    document.refresh_from_db()
    assert "stored copy of this file is missing" in document.error
    assert not RequestLog.objects.filter(operation="uploadFile").exists()


@pytest.fixture
def dispatched(monkeypatch):
    """The documents handed to the broker (here, instead of to a worker)."""
    sent = []
    monkeypatch.setattr(documents, "_send", sent.append)
    return sent


def test_the_sweeper_dispatches_a_lost_document_once_per_stale_period(an, dispatched):
    document = queued_document(an)
    Document.objects.filter(pk=document.pk).update(updated_at=timezone.now() - timedelta(minutes=10))

    documents.documents_sweep(stale_after=timedelta(minutes=5))
    documents.documents_sweep(stale_after=timedelta(minutes=5))

    assert dispatched == [document.pk], "a slow broker is not flooded with the same document"


def test_a_crashed_send_is_queued_again_until_the_attempts_run_out(an, dispatched):
    lease_over = timezone.now() - timedelta(seconds=1)
    crashed = queued_document(an, status=Status.SENDING, sending_until=lease_over, attempts=2)
    hopeless = queued_document(an, status=Status.SENDING, sending_until=lease_over, attempts=documents.MAX_ATTEMPTS)

    documents.documents_sweep(stale_after=timedelta(minutes=5))

    crashed.refresh_from_db(), hopeless.refresh_from_db()
    assert dispatched == [crashed.pk] and crashed.status == Status.QUEUED
    assert hopeless.status == Status.FAILED and "stopped unexpectedly" in hopeless.error


def test_the_same_file_twice_in_one_batch_is_sent_once_and_the_copy_held(browser):  # noqa: F811
    content = samples.pdf(pages=3)

    upload(browser, ("factuur.pdf", content), ("factuur (1).pdf", content))

    first, copy = Document.objects.order_by("pk")
    assert copy.status == Status.HELD and "already uploaded to this administration" in copy.error
    ends(first, Status.SENT, browser)
    assert sandbox.Document.objects.count() == 1


def test_a_batch_over_the_total_limit_keeps_what_came_before_and_explains_the_rest(browser):  # noqa: F811
    with override_settings(DOCUMENT_MAX_BATCH_BYTES=100_000):
        response = upload(browser, ("a.pdf", samples.pdf() + b" " * 30_000), ("b.pdf", samples.pdf(pages=2)),
                          ("c.pdf", samples.pdf() + b" " * 80_000), ("d.pdf", samples.pdf(pages=4)))  # fmt: skip

    assert response.status_code == 200
    refused = response.text.split('data-testid="upload-refused"', 1)[1]
    assert "c.pdf" in refused and "larger than 97.7\xa0KB" in refused and "not received" in refused
    assert sorted(Document.objects.values_list("filename", flat=True)) == ["a.pdf", "b.pdf"]
