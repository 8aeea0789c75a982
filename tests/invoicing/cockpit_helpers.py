"""Helpers (no tests) for the clearance queue's tests: one invoice or document in each problem, as
the outbox, the poller, the watchdog and the document pipeline leave them."""

import itertools
from datetime import timedelta

from django.utils import timezone

from clearfacts_app.models import Document
from invoicing.models import BookFiling, Invoice, StatusAlert, Submission
from tests.factories import make_document, make_invoice
from tests.invoicing.clearance_helpers import make_submission

State, Clearance, Status = Submission.State, Submission.ClearanceStatus, Invoice.Status
_batches = itertools.count(1)
REJECTION = {"source": "SDI", "code": "00102", "message": "Partita IVA del cessionario non valida"}


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def alert(submission, status, *, level=1, limit=timedelta(hours=4), since=None) -> StatusAlert:
    """What the watchdog writes when a submission stays in `status` past a limit."""
    return StatusAlert.objects.create(
        submission=submission,
        status=status,
        level=level,
        limit=limit,
        since=since or submission.status_since or submission.created_at,
        raised_at=timezone.now(),
    )


def undelivered(administration, user, *, deadline_in=timedelta(days=2), **fields) -> Submission:
    """An Italian invoice the SDI has not delivered, its deadline near: the watchdog alerted."""
    invoice = make_invoice(administration, user, status=Status.UNDELIVERED, **fields)
    submission = make_submission(
        invoice,
        user,
        reference_id=f"IT-{invoice.pk}",
        clearance_status=Clearance.UNDELIVERED,
        status_since=ago(days=8),
        mc_deadline=timezone.now() + deadline_in,
        next_poll_at=timezone.now() + timedelta(hours=1),
    )
    alert(submission, "UNDELIVERED", limit=timedelta(days=3))
    return submission


def stuck(administration, user, *, pending_for=timedelta(hours=6), **fields) -> Submission:
    """A pending invoice past its limit: the watchdog alerted."""
    invoice = make_invoice(administration, user, status=Status.PENDING, **fields)
    submission = make_submission(
        invoice,
        user,
        reference_id=f"IT-{invoice.pk}",
        clearance_status=Clearance.PENDING,
        status_since=timezone.now() - pending_for,
        next_poll_at=timezone.now() + timedelta(minutes=5),
    )
    alert(submission, "PENDING")
    return submission


def unconfirmed(administration, user, **fields) -> Submission:
    """A send Clearvo has not confirmed for too long (retrying): a SUBMITTING alert."""
    invoice = make_invoice(administration, user, status=Status.SUBMITTING, **fields)
    submission = make_submission(
        invoice,
        user,
        state=State.RETRYING,
        status_since=ago(hours=1),
        first_attempt_at=ago(hours=1),
        next_attempt_at=timezone.now() + timedelta(minutes=5),
        reason_code=Submission.Reason.UNREACHABLE,
        reason_params={"attempts": 4},
    )
    alert(submission, "SUBMITTING", limit=timedelta(minutes=30))
    return submission


def held(administration, user, **fields) -> Submission:
    invoice = make_invoice(administration, user, status=Status.SUBMITTING, **fields)
    return make_submission(
        invoice,
        user,
        state=State.HELD,
        status_since=ago(days=2),
        first_attempt_at=ago(days=2),
        reason_code=Submission.Reason.OUTCOME_UNKNOWN,
        reason_params={"number": invoice.invoice_number, "hours": 24},
    )


def duplicate(administration, user, *, match="same", **fields) -> Submission:
    invoice = make_invoice(administration, user, status=Status.DUPLICATE, **fields)
    return make_submission(
        invoice,
        user,
        reference_id=f"IT-{invoice.pk}",
        clearance_status=Clearance.DUPLICATE,
        terminal=True,
        duplicate=match,
        status_since=ago(hours=3),
        error={"source": "SDI", "code": "00002", "message": "File duplicato"},
    )


def rejected(administration, user, **fields) -> Submission:
    invoice = make_invoice(administration, user, status=Status.REJECTED, **fields)
    return make_submission(
        invoice,
        user,
        reference_id=f"IT-{invoice.pk}",
        clearance_status=Clearance.REJECTED,
        terminal=True,
        rejected_at=ago(hours=2),
        status_since=ago(hours=2),
        error=REJECTION,
    )


def refused(administration, user, **fields) -> Submission:
    """Clearvo refused the send (422): the invoice is a draft again."""
    invoice = make_invoice(administration, user, status=Status.DRAFT, **fields)
    return make_submission(
        invoice,
        user,
        state=State.REFUSED,
        reason_code=Submission.Reason.REFUSED,
        reason_params={"message": "buyer.taxId is not a valid Partita IVA"},
        violations=[{"field": "buyer.taxId", "message": "not a valid Partita IVA"}],
    )


def failed_filing(administration, user, **fields) -> BookFiling:
    invoice = make_invoice(administration, user, status=Status.ACCEPTED, **fields)
    make_submission(invoice, user, clearance_status=Clearance.ACCEPTED, terminal=True, reference_id=f"IT-{invoice.pk}")
    return BookFiling.objects.create(
        invoice=invoice, state=BookFiling.State.FAILED, error="The UBL could not be built."
    )


def filing_document_failed(administration, user, **fields) -> BookFiling:
    """A filing handed to the documents, whose document Clearfacts refused."""
    invoice = make_invoice(administration, user, status=Status.ACCEPTED, **fields)
    document = make_document(
        administration,
        user,
        f"{invoice.invoice_number}.xml",
        invoice_type=Document.InvoiceType.SALE,
        content_type="application/xml",
        status=Document.Status.FAILED,
        reason_code=Document.Reason.REFUSED,
        reason_params={"message": "Unreadable UBL"},
    )
    return BookFiling.objects.create(invoice=invoice, document=document, state=BookFiling.State.HANDED_OVER)


def held_document(administration, user, filename="aankoop-0042.pdf", **fields) -> Document:
    return make_document(
        administration,
        user,
        filename,
        status=Document.Status.HELD,
        reason_code=Document.Reason.DUPLICATE,
        **fields,
    )


def closed_invoices(administration, user, count: int) -> None:
    """`count` invoices that need nobody: accepted ones, filed, and pending ones within their limits."""
    from tests.invoicing.polling_helpers import stored

    stored(administration, user, count, prefix=f"OK{next(_batches)}")
