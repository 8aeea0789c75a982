"""A real worker killed with SIGKILL while it sends an accepted invoice's UBL to the books: one SALE document
at Clearfacts, one Document and one BookFiling in the portal, and never a blind second send.

test_books.py simulates the worker's death by letting its lease run out; here the worker is a real Celery
process, killed while the sandbox's Clearfacts holds back its answer to the upload it has already stored.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from clearfacts_app.models import Document
from clearfacts_app.tasks import sweep_documents
from invoicing import polling, submissions
from invoicing.book_tasks import sweep_book_filings
from invoicing.models import BookFiling
from sandbox.instrument import fail_next
from sandbox.models import RequestLog
from tests.conftest import wait_until
from tests.invoicing.test_books import accepted_at_once, sales_at_the_sandbox

pytestmark = [pytest.mark.slow, pytest.mark.books_dispatched]

HOLD_SECONDS = 8  # the sandbox's late answer: far longer than it takes to see the upload and kill the worker
FINAL = {Document.Status.SENT, Document.Status.HELD, Document.Status.FAILED, Document.Status.CANCELLED}


@pytest.fixture
def submissions_quiet(monkeypatch):
    """The submission is sent here, by the test; the filing's tasks go to the real worker."""
    monkeypatch.setattr(submissions, "_dispatch", lambda pk, countdown=None: None)
    monkeypatch.setattr(submissions.notifications, "submission_outcome_notify", lambda pk: None)
    monkeypatch.setattr(polling.notifications, "submissions_outcome_notify", lambda ids: None)


def held_upload():
    return RequestLog.objects.filter(
        service="clearfacts-graphql", operation="uploadFile", fault_injected=True, fault_kind="hold"
    ).first()


def test_a_worker_killed_while_sending_an_accepted_invoice_to_the_books_leaves_one_sale_document(
    live_clearvo, worker_for_this_test, administration, member, submissions_quiet
):
    fail_next("clearfacts-graphql", operation="uploadFile", when="after", kind="hold", hold_seconds=HOLD_SECONDS)

    invoice = accepted_at_once(administration, member)  # its filing's preparing task leaves on commit

    # The worker prepares the filing and sends the UBL; Clearfacts stores it and holds the answer back.
    held = wait_until(
        held_upload, timeout=20, message="the worker's upload to reach the sandbox", process=worker_for_this_test
    )
    held_since = time.monotonic()
    document = BookFiling.objects.get(invoice=invoice).document
    wait_until(
        lambda: Document.objects.filter(pk=document.pk, status=Document.Status.SENDING, handed_over_at__isnull=False),
        timeout=5,
        message="the worker to wait for Clearfacts' answer",
    )
    assert held.status == 200 and sales_at_the_sandbox(administration).count() == 1

    worker_for_this_test.kill()  # SIGKILL mid-send: no answer read, nothing written on the way out

    document.refresh_from_db()
    assert document.status == Document.Status.SENDING and document.attempts == 1

    # Later: the dead worker's lease has run out; a worker is running again; the beat's sweepers pass.
    Document.objects.filter(pk=document.pk).update(sending_until=timezone.now() - timedelta(seconds=1))
    worker_for_this_test.start()
    deadline = time.monotonic() + 20
    while document.status not in FINAL:
        assert time.monotonic() < deadline, (
            f"the document never ended: {document.status}\n{worker_for_this_test.output()}"
        )
        sweep_documents.delay()
        sweep_book_filings.delay(stale_after_seconds=0)
        time.sleep(1)
        document.refresh_from_db()

    # Sent (the restarted worker got it through) or held for a person (the outcome was unknown): never twice.
    assert document.status in {Document.Status.SENT, Document.Status.HELD}
    if document.status == Document.Status.HELD:
        assert document.reason_code == Document.Reason.OUTCOME_UNKNOWN
    assert sales_at_the_sandbox(administration).count() == 1
    assert RequestLog.objects.filter(service="clearfacts-graphql", operation="uploadFile").count() == 1
    assert Document.objects.filter(administration=administration).count() == 1
    assert BookFiling.objects.filter(invoice=invoice).count() == 1
    assert BookFiling.objects.get(invoice=invoice).document_id == document.pk

    # The sandbox's thread answers the dead worker's connection once the hold is over; let it finish
    # before the tables are emptied (and, on PostgreSQL, before the test database may be dropped).
    time.sleep(max(0.0, HOLD_SECONDS + 0.5 - (time.monotonic() - held_since)))
