"""E-mailing an invoice to its buyer: the PDF and the UBL, to the address in the buyer's address-book entry.

A writer asks (`invoice_email_request`): the request is an activity row ("invoice.email_requested",
with who and to which address), and a Celery task, dispatched once that row is committed, sends the
e-mail and records "invoice.email_sent" (or "invoice.email_failed" when it gives up). The invoice
page lists them (`invoice_emails`). The e-mail is in the buyer's language when the address book
knows it, else in the invoice's; the PDF attached is in that language too.

A retried task sends nothing when its request already has an "invoice.email_sent" row; a worker
that dies between the SMTP server's answer and that row may send the same e-mail twice (as the
outcome notifications may, invoicing/notifications.py).
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from email.utils import formataddr, parseaddr

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from clearfacts_app.activity import activity_record
from clearfacts_app.models import Activity
from invoicing import identifiers, pdf, totals, ubl
from invoicing.models import Invoice

logger = logging.getLogger(__name__)

REQUESTED, SENT, FAILED = "invoice.email_requested", "invoice.email_sent", "invoice.email_failed"
BODY_TEMPLATE = "invoicing/email/invoice_to_buyer.txt"
MAX_RETRIES = 8


class NoAddress(Exception):
    """The invoice has no buyer e-mail to send to; the message says why, for the person who asked."""


def buyer_address(invoice: Invoice) -> str:
    return invoice.buyer.email if invoice.buyer_id and invoice.buyer else ""


def buyer_language(invoice: Invoice) -> str:
    """The buyer's language where the address book knows it, else the invoice's."""
    spoken = [code for code, _name in settings.LANGUAGES]
    for language in (invoice.buyer.language if invoice.buyer_id and invoice.buyer else "", invoice.language):
        if language in spoken:
            return language
    return settings.LANGUAGE_CODE


def missing_address(invoice: Invoice) -> str:
    """Why the invoice cannot be e-mailed to its buyer; "" when it can."""
    if invoice.buyer_id is None:
        return _("This invoice's buyer is not in the address book, so the portal has no e-mail address for it.")
    if not invoice.buyer.email:
        return _("%(name)s has no e-mail address in the address book.") % {"name": invoice.buyer.name}
    return ""


def invoice_email_request(*, invoice: Invoice, user) -> Activity:
    """Records the request and hands it to a task after commit; NoAddress when there is nowhere to send it."""
    problem = missing_address(invoice)
    if problem:
        raise NoAddress(problem)
    with transaction.atomic():
        requested = activity_record(
            administration=invoice.administration,
            actor=user,
            action=REQUESTED,
            data={
                "invoice": invoice.pk,
                "number": invoice.invoice_number,
                "to": buyer_address(invoice),
                "language": buyer_language(invoice),
            },
        )
        invoice_email_send.delay_on_commit(requested.pk)
    return requested


def invoice_email_deliver(*, request_id: int) -> bool:
    """Sends the requested e-mail unless it went out already; True when it did now.

    Raises what the mail backend raises (the task retries).
    """
    requests = Activity.objects.select_related("actor", "administration")
    requested = requests.filter(pk=request_id, action=REQUESTED).first()
    if requested is None or _outcome_of(requested) is not None:
        return False
    invoice = (
        Invoice.objects.select_related("administration", "buyer", "original_invoice")
        .filter(pk=requested.data["invoice"], administration=requested.administration_id)
        .first()
    )
    if invoice is None:
        logger.info("e-mail request %s: the invoice is gone", request_id)
        return False
    actor = requested.actor
    invoice_message(
        invoice,
        to=requested.data["to"],
        language=requested.data["language"],
        reply_to=actor.email if actor and actor.email else "",
    ).send()
    _record(requested, SENT)
    return True


def invoice_email_failed(*, request_id: int, reason: str) -> None:
    requested = Activity.objects.filter(pk=request_id, action=REQUESTED).first()
    if requested is not None and _outcome_of(requested) is None:
        _record(requested, FAILED, reason=reason[:300])


def _outcome_of(requested: Activity) -> Activity | None:
    return Activity.objects.filter(
        administration=requested.administration_id, action__in=(SENT, FAILED), data__request=requested.pk
    ).first()


def _record(requested: Activity, action: str, **extra) -> None:
    with transaction.atomic():
        activity_record(
            administration=requested.administration,
            actor=requested.actor,
            action=action,
            data={key: requested.data[key] for key in ("invoice", "number", "to", "language")}
            | {"request": requested.pk}
            | extra,
        )


def invoice_message(invoice: Invoice, *, to: str, language: str, reply_to: str = "") -> EmailMessage:
    """The e-mail to the buyer, in `language`, with the PDF (in that language) and the UBL attached."""
    with translation.override(language):
        computed = totals.compute(invoice.country, invoice.lines.all())
        context = {
            "invoice": invoice,
            "document": invoice.get_document_type_display().lower(),
            "number": invoice.invoice_number,
            "supplier": invoice.supplier_name,
            "iban": identifiers.iban_shown(invoice.iban),
            "issued": pdf.date_shown(invoice.issue_date),
            "due": pdf.date_shown(invoice.due_date),
            "total": f"{pdf.amount_shown(computed.gross)} {invoice.currency}",
            "reply": bool(reply_to),
        }
        subject = _("%(document)s %(number)s from %(supplier)s") % {
            "document": invoice.get_document_type_display(),
            "number": invoice.invoice_number,
            "supplier": invoice.supplier_name,
        }
        body = render_to_string(BODY_TEMPLATE, context).strip() + "\n"
        document = pdf.invoice_pdf(invoice, language=language)
    message = EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=formataddr((invoice.supplier_name, parseaddr(settings.DEFAULT_FROM_EMAIL)[1])),
        to=[to],
        reply_to=[reply_to] if reply_to else None,
        headers={"Auto-Submitted": "auto-generated", "Content-Language": language},
    )
    message.attach(pdf.pdf_filename(invoice), document, pdf.CONTENT_TYPE)
    message.attach(ubl.ubl_filename(invoice), ubl.invoice_ubl(invoice), ubl.UBL_CONTENT_TYPE)
    return message


@dataclass
class SentEmail:
    """One "e-mail to the buyer" as the invoice page lists it."""

    to: str
    by: str
    at: datetime
    state: str  # "waiting", "sent" or "failed"
    sent_at: datetime | None = None


def invoice_emails(invoice: Invoice) -> list[SentEmail]:
    """Every e-mail of the invoice to its buyer, newest first: two queries."""
    rows = list(
        Activity.objects.filter(
            administration=invoice.administration_id, action__in=(REQUESTED, SENT, FAILED), data__invoice=invoice.pk
        )
        .select_related("actor")
        .order_by("-created_at", "-pk")
    )
    outcomes = {row.data.get("request"): row for row in rows if row.action != REQUESTED}
    shown = []
    for row in rows:
        if row.action != REQUESTED:
            continue
        outcome = outcomes.get(row.pk)
        state = "waiting" if outcome is None else ("sent" if outcome.action == SENT else "failed")
        by = (row.actor.get_full_name() or row.actor.email) if row.actor else ""
        shown.append(
            SentEmail(
                to=row.data.get("to", ""),
                by=by,
                at=row.created_at,
                state=state,
                sent_at=outcome.created_at if outcome else None,
            )
        )
    return shown


@shared_task(bind=True, max_retries=MAX_RETRIES)
def invoice_email_send(self, request_id: int) -> bool:
    """Sends one requested e-mail; the mail server's errors (OSError) are retried, then recorded as failed."""
    try:
        return invoice_email_deliver(request_id=request_id)
    except OSError as error:
        if self.request.retries >= self.max_retries:
            invoice_email_failed(request_id=request_id, reason=str(error))
            return False
        raise self.retry(exc=error, countdown=min(60 * 2**self.request.retries, 60 * 60)) from error
    except Exception as error:
        invoice_email_failed(request_id=request_id, reason=f"{type(error).__name__}: {error}")
        raise
