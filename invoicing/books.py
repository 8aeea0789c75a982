"""Accepted sales invoices into the accountant's books: the UBL to the Clearfacts inbox as a SALE document.

- `book_filings_request(invoice_ids, *, requested_by=None) -> list[int]`: called inside the
  transaction that records ACCEPTED (the poller's write, an immediately accepted submission) and
  by the list action for invoices accepted before: writes one BookFiling per accepted invoice
  (bulk, ignore_conflicts: the OneToOne on invoice keeps it to one, whatever repeats) when the
  administration's InvoicingProfile.file_in_books is on, and dispatches the preparing task on
  commit. Returns the ids of the filings it created. With the setting off no filing is written
  (not a SKIPPED one): turning it on later, the list action files what was accepted meanwhile.
- `book_filing_prepare(filing_id) -> str` (in the task): under the filing's row lock, builds the
  UBL (invoicing.ubl), creates the SALE Document of the inbox through
  clearfacts_app.documents.document_create (the same lease, sweeper and "held when the outcome is
  unknown" rules), links it and marks the filing HANDED_OVER in the same transaction; a filing
  already handed over is left alone. Uploaded as the person who submitted the invoice.
- `book_filings_sweep(*, stale_after) -> int` (periodic): dispatches again PENDING filings whose task
  was lost.

From HANDED_OVER on, the document's own status (queued, sending, sent, held, failed...) is the
filing's: the document pipeline owns the upload, so nothing here ever uploads a second time.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clearfacts_app.documents import document_create
from clearfacts_app.filetypes import FileKind, name_for_kind
from clearfacts_app.models import Document
from clearfacts_app.roles import Action, can
from invoicing import book_tasks
from invoicing.models import BookFiling, Invoice, Submission
from invoicing.ubl import invoice_ubl, ubl_filename

logger = logging.getLogger(__name__)

State = BookFiling.State
SWEEP_BATCH = 500
# BookFiling.error of a filing whose submitter may no longer upload (the page explains it in the reader's language).
NOT_ALLOWED = "not-allowed"


def _dispatch(filing_id: int) -> None:
    """The preparing task, once the transaction that wrote the filing commits (at once outside one)."""
    book_tasks.prepare_book_filing.delay_on_commit(filing_id)


def book_filings_request(invoice_ids, *, requested_by=None) -> list[int]:
    """One filing per accepted invoice of `invoice_ids` whose administration files in the books; the ids
    of those it (re)started.

    A FAILED filing (its UBL could not be built; no document was made) starts again: that is how a
    person retries it, from the list action, once the cause is fixed.
    """
    wanted = list(
        Invoice.objects.filter(pk__in=list(invoice_ids), status=Invoice.Status.ACCEPTED)
        # No profile yet is the default: on.
        .exclude(administration__invoicing_profile__file_in_books=False)
        .exclude(book_filing__state__in=[State.PENDING, State.HANDED_OVER, State.SKIPPED])
        .values_list("pk", flat=True)
    )
    if not wanted:
        return []
    with transaction.atomic():
        BookFiling.objects.filter(invoice_id__in=wanted, state=State.FAILED, document__isnull=True).update(
            state=State.PENDING, error="", requested_by=requested_by, updated_at=timezone.now()
        )
        BookFiling.objects.bulk_create(
            [BookFiling(invoice_id=pk, requested_by=requested_by) for pk in wanted], ignore_conflicts=True
        )
        # A concurrent request may have written some of them: dispatching those again is harmless
        # (the task does nothing to a filing already handed over).
        created = list(
            BookFiling.objects.filter(invoice_id__in=wanted, state=State.PENDING).values_list("pk", flat=True)
        )
        for pk in created:
            _dispatch(pk)
    return created


def can_file(invoice: Invoice) -> bool:
    """Only accepted invoices go to the books."""
    return invoice.status == Invoice.Status.ACCEPTED


def _uploader(invoice: Invoice):
    """Who submitted the accepted submission, or adopted an earlier send's outcome for a duplicate
    answer (invoicing.duplicates): the one whose Clearfacts sign-in uploads it."""
    submission = (
        invoice.submissions.filter(
            Q(clearance_status=Submission.ClearanceStatus.ACCEPTED) | Q(adopted_at__isnull=False)
        )
        .select_related("submitted_by", "adopted_by")
        .order_by("-pk")
        .first()
    )
    if submission is None:
        return invoice.author
    return submission.adopted_by or submission.submitted_by


def _filename(invoice: Invoice) -> str:
    return name_for_kind(ubl_filename(invoice) or f"{invoice.invoice_number}.xml", FileKind.XML)


def book_filing_prepare(filing_id: int) -> str:
    """Builds the UBL of a pending filing and hands it to the document pipeline; returns the filing's state."""
    with transaction.atomic():
        filing = BookFiling.objects.select_for_update().filter(pk=filing_id).first()
        if filing is None:
            return "no such filing"
        if filing.state != State.PENDING:
            return filing.state  # handed over (or given up) before: never a second document
        invoice = Invoice.objects.select_related("administration").get(pk=filing.invoice_id)
        uploader = _uploader(invoice)
        if not can(uploader, Action.UPLOAD, invoice.administration):
            # The upload would go out under the submitter's Clearfacts sign-in: never for someone whose
            # role no longer lets them upload here. No document is made, so the list action starts the
            # filing again once their role allows it.
            logger.info("book filing %s: user %s may no longer upload; not filed", filing.pk, uploader.pk)
            filing.state = State.FAILED
            filing.error = NOT_ALLOWED
            filing.save(update_fields=["state", "error", "updated_at"])
            return filing.state
        try:
            content = invoice_ubl(invoice)
            filename = _filename(invoice)
        except Exception as error:  # a bug in building the UBL must not leave the filing pending forever
            logger.exception("book filing %s: the UBL of invoice %s could not be built", filing.pk, invoice.pk)
            filing.state = State.FAILED
            filing.error = f"{type(error).__name__}: {error}"
            filing.save(update_fields=["state", "error", "updated_at"])
            return filing.state
        document = document_create(
            administration=invoice.administration,
            uploaded_by=uploader,
            filename=filename,
            content=ContentFile(content, name=filename),
            sha256=hashlib.sha256(content).hexdigest(),
            kind=FileKind.XML,
            destination=Document.Destination.INBOX,
            invoice_type="SALE",
        )
        filing.document = document
        filing.state = State.HANDED_OVER
        filing.error = ""
        filing.save(update_fields=["document", "state", "error", "updated_at"])
    logger.info("book filing %s: invoice %s handed over as document %s", filing.pk, invoice.pk, document.pk)
    return filing.state


def book_filings_sweep(*, stale_after: timedelta) -> int:
    """Dispatches again the pending filings untouched for `stale_after` (their task was lost); how many."""
    now = timezone.now()
    stale = BookFiling.objects.filter(state=State.PENDING, updated_at__lt=now - stale_after)
    ids = list(stale.values_list("pk", flat=True)[:SWEEP_BATCH])
    # Touched, so that a slow broker does not get them again every round.
    BookFiling.objects.filter(pk__in=ids).update(updated_at=now)
    for pk in ids:
        _dispatch(pk)
    if ids:
        logger.info("book filings sweeper: %d dispatched again", len(ids))
    return len(ids)


# --- what the invoice page shows ---

# The invoice may still reach ACCEPTED by itself: the page asks until it has decided.
UNDECIDED = {Invoice.Status.SUBMITTING, Invoice.Status.PENDING, Invoice.Status.UNDELIVERED}
DOCUMENT_MOVING = {Document.Status.QUEUED, Document.Status.SENDING}


@dataclass(frozen=True)
class Handover:
    """Where an invoice's way into the books stands, for its page (templates/invoicing/book_filing.html)."""

    key: str  # "" (nothing to show), "off", "not-filed", or the filing's state
    filing: BookFiling | None = None
    document: Document | None = None
    live: bool = False  # may change by itself: the page asks again


def invoice_handover(invoice: Invoice) -> Handover:
    filing = BookFiling.objects.select_related("document").filter(invoice=invoice).first()
    if filing is not None:
        document = filing.document
        live = filing.state == State.PENDING or (document is not None and document.status in DOCUMENT_MOVING)
        return Handover(filing.state, filing, document, live)
    if invoice.status in UNDECIDED:
        return Handover("", live=True)
    if invoice.status != Invoice.Status.ACCEPTED:
        return Handover("")
    profile = getattr(invoice.administration, "invoicing_profile", None)
    return Handover("not-filed" if profile is None or profile.file_in_books else "off")
