"""A worker killed in the middle of an upload: the document still ends sent, and only once."""

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from clearfacts_app.models import Document
from clearfacts_app.tasks import sweep_documents
from sandbox.clearfacts import models as sandbox
from tests import samples
from tests.clearfacts_app.test_documents import UPLOAD, ends
from tests.conftest import wait_until
from tests.personas import AN
from tests.signed_in import sign_in_directly

pytestmark = pytest.mark.slow


def test_a_worker_killed_mid_upload_then_restarted_sends_the_document_once(portal, live_worker, tmp_path):
    browser = sign_in_directly(portal, AN)
    browser.worker = live_worker
    big = tmp_path / "jaarrekening.pdf"
    samples.write_large_pdf(big, 12 * 1024 * 1024)

    # The sandbox reads uploads at 1 MB/s, so the worker's upload takes about 12 seconds.
    with override_settings(SANDBOX_BANDWIDTH_KBPS=1024):
        with big.open("rb") as file:
            response = browser.post(
                f"{portal.url}{UPLOAD}",
                data={
                    "destination": "inbox",
                    "invoice_type": "PURCHASE",
                    "csrfmiddlewaretoken": browser.cookies["csrftoken"],
                },
                files=[("files", ("jaarrekening.pdf", file, "application/pdf"))],
                timeout=60,
            )
        assert 'data-testid="upload-accepted"' in response.text
        document = Document.objects.get()
        wait_until(lambda: Document.objects.get().status == Document.Status.SENDING, message="the send to start")
        time.sleep(3)  # well into the upload

        live_worker.kill()  # SIGKILL: no clean-up, no acknowledgement

        time.sleep(2)
        assert not sandbox.Document.objects.exists(), "Clearfacts got a truncated request and kept nothing"
        document.refresh_from_db()
        assert document.status == Document.Status.SENDING and document.attempts == 1

    # Later: the dead worker's lease has run out; a worker is running again; the sweeper passes.
    Document.objects.filter(pk=document.pk).update(sending_until=timezone.now() - timedelta(seconds=1))
    live_worker.start()
    sweep_documents.delay()

    ends(document, Document.Status.SENT, browser, timeout=60)
    assert document.attempts == 2
    received = sandbox.Document.objects.get()
    assert received.size == big.stat().st_size and received.amount_of_pages == 1
