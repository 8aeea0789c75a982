"""Sending a document exactly once when things go wrong halfway: lost answers, lost tasks, crashes,
missing files, the same file twice, and batches too large to take in."""

import io
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from clearfacts_app import client, documents
from clearfacts_app.models import Document
from sandbox.clearfacts import models as sandbox
from sandbox.models import RequestLog
from tests import samples
from tests.clearfacts_app.test_documents import ends, upload
from tests.conftest import wait_until
from tests.personas import BAKKERIJ

Status = Document.Status


def queued_document(user, **fields) -> Document:
    """A document recorded and queued, whose task has not run (the tests run it here)."""
    document = Document.objects.create(
        **{
            "administration": user.administration_accesses.get().administration,
            "uploaded_by": user,
            "destination": "inbox",
            "invoice_type": "PURCHASE",
            "filename": "factuur.pdf",
            "content_type": "application/pdf",
            "size": 1,
            "sha256": "0" * 64,
        }
        | fields
    )
    document.file.save("factuur.pdf", io.BytesIO(samples.pdf()), save=True)
    return document


def test_an_answer_lost_after_the_whole_file_was_sent_holds_the_document_for_the_user(an, portal):
    document = queued_document(an.user)

    # Clearfacts takes the file, but its answer comes after the portal stopped waiting.
    with override_settings(CLEARFACTS_UPLOAD_ANSWER_TIMEOUT=0.5, SANDBOX_LATENCY_MS=1500):
        status = documents.document_send(document_id=document.pk, last_attempt=False)

    document.refresh_from_db()
    assert status == document.status == Status.HELD
    assert document.reason_code == Document.Reason.OUTCOME_UNKNOWN
    wait_until(lambda: sandbox.Document.objects.exists(), message="the sandbox to store the upload")
    assert sandbox.Document.objects.count() == 1
    page = an.get(f"{portal.url}/administrations/{BAKKERIJ}/documents/{document.pk}/", timeout=30)
    assert "may have received this file" in page.text and "Send it anyway" in page.text


def test_a_connection_that_never_opened_is_retried_later(an):
    document = queued_document(an.user)

    with override_settings(CLEARFACTS_GRAPHQL_URL="http://127.0.0.1:9/graphql"), pytest.raises(client.Unavailable):
        documents.document_send(document_id=document.pk, last_attempt=False)

    document.refresh_from_db()
    assert document.status == Status.QUEUED and document.reason_code == Document.Reason.UNREACHABLE


def test_a_document_whose_stored_file_is_gone_fails_with_a_reason(an):
    document = queued_document(an.user)
    document.file.delete(save=False)

    assert documents.document_send(document_id=document.pk, last_attempt=False) == Status.FAILED

    document.refresh_from_db()
    assert document.reason_code == Document.Reason.FILE_MISSING
    assert not RequestLog.objects.filter(operation="uploadFile").exists()


@pytest.fixture
def dispatched(monkeypatch):
    """The documents handed to the broker (here, instead of to a worker)."""
    sent = []
    monkeypatch.setattr(documents, "_dispatch", sent.append)
    return sent


def test_the_sweeper_dispatches_a_lost_document_once_per_stale_period(an, dispatched):
    document = queued_document(an.user)
    Document.objects.filter(pk=document.pk).update(updated_at=timezone.now() - timedelta(minutes=10))

    documents.documents_sweep(stale_after=timedelta(minutes=5))
    documents.documents_sweep(stale_after=timedelta(minutes=5))

    assert dispatched == [document.pk], "a slow broker is not flooded with the same document"


def test_a_send_interrupted_mid_file_is_queued_again_until_it_was_interrupted_too_often(an, dispatched):
    lease_over = timezone.now() - timedelta(seconds=1)
    crashed = queued_document(an.user, status=Status.SENDING, sending_until=lease_over, attempts=7, crashes=1)
    hopeless = queued_document(
        an.user, status=Status.SENDING, sending_until=lease_over, crashes=documents.MAX_CRASHES - 1
    )

    documents.documents_sweep(stale_after=timedelta(minutes=5))

    crashed.refresh_from_db(), hopeless.refresh_from_db()
    assert dispatched == [crashed.pk] and crashed.status == Status.QUEUED and crashed.crashes == 2
    assert hopeless.status == Status.FAILED and hopeless.reason_params == {"count": 3}


def test_a_send_that_died_after_the_whole_file_went_out_is_held_not_sent_again(an, dispatched):
    lease_over = timezone.now() - timedelta(seconds=1)
    document = queued_document(an.user, status=Status.SENDING, sending_until=lease_over, handed_over_at=lease_over)

    documents.documents_sweep(stale_after=timedelta(minutes=5))

    document.refresh_from_db()
    assert dispatched == [] and document.status == Status.HELD
    assert document.reason_code == Document.Reason.OUTCOME_UNKNOWN


def test_a_large_file_on_a_slow_uplink_gets_through(an, tmp_path):
    """Request bodies go out under the connect timeout: a 5 s one would break a slow upload."""
    big = tmp_path / "scan.pdf"
    samples.write_large_pdf(big, 6 * 1024 * 1024)  # more than the loopback socket buffers take at once
    document = queued_document(an.user, size=big.stat().st_size)
    with big.open("rb") as file:
        document.file.save("scan.pdf", file, save=True)

    with override_settings(EXTERNAL_TIMEOUT=(0.3, 30), SANDBOX_BANDWIDTH_KBPS=1024):
        assert documents.document_send(document_id=document.pk, last_attempt=False) == Status.SENT

    assert sandbox.Document.objects.get().size == big.stat().st_size


def test_the_lease_is_renewed_while_the_file_goes_out(an, tmp_path, monkeypatch, dispatched):
    """A slow send outlasting the first lease is not mistaken for a dead one by the sweeper."""
    monkeypatch.setattr(documents, "SEND_LEASE", timedelta(seconds=2))
    monkeypatch.setattr(documents, "LEASE_RENEWAL_SECONDS", 0.2)
    big = tmp_path / "scan.pdf"
    samples.write_large_pdf(big, 6 * 1024 * 1024)  # goes out for seconds after the socket buffers fill
    document = queued_document(an.user, size=big.stat().st_size)
    with big.open("rb") as file:
        document.file.save("scan.pdf", file, save=True)
    sweeps, sent = [], threading.Event()

    def sweep_every_half_second():
        while not sent.wait(0.5):
            sweeps.append(documents.documents_sweep(stale_after=timedelta(minutes=5)))
        connection.close()

    with override_settings(SANDBOX_BANDWIDTH_KBPS=1024):  # about six seconds: longer than the lease
        sweeper = threading.Thread(target=sweep_every_half_second)
        sweeper.start()
        try:
            status = documents.document_send(document_id=document.pk, last_attempt=False)
        finally:
            sent.set()
            sweeper.join(10)

    assert status == Status.SENT and len(sweeps) > 6
    assert dispatched == [] and sandbox.Document.objects.count() == 1


def test_the_same_file_twice_in_one_batch_is_sent_once_and_the_copy_held(browser):
    content = samples.pdf(pages=3)

    upload(browser, ("factuur.pdf", content), ("factuur (1).pdf", content))

    first, copy = Document.objects.order_by("pk")
    assert copy.status == Status.HELD and copy.reason_code == Document.Reason.DUPLICATE
    ends(first, Status.SENT, browser)
    assert sandbox.Document.objects.count() == 1


def test_a_batch_over_the_total_limit_keeps_what_came_before_and_explains_the_rest(browser):
    with override_settings(DOCUMENT_MAX_BATCH_BYTES=100_000):
        response = upload(
            browser,
            ("a.pdf", samples.pdf() + b" " * 30_000),
            ("b.pdf", samples.pdf(pages=2)),
            ("c.pdf", samples.pdf() + b" " * 80_000),
            ("d.pdf", samples.pdf(pages=4)),
        )

    assert response.status_code == 200
    refused = response.text.split('data-testid="upload-refused"', 1)[1]
    assert "c.pdf" in refused and "larger than 97.7\xa0KB" in refused and "not received" in refused
    assert sorted(Document.objects.values_list("filename", flat=True)) == ["a.pdf", "b.pdf"]
    for document in Document.objects.all():
        ends(document, Status.SENT, browser)
