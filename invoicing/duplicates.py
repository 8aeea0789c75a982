"""When the authority answers that it already has the invoice number: what the portal itself sent under it.

The answer comes as clearance status DUPLICATE, or as a rejection that says so (SDI 00002 in Italy,
KSeF DuplicateInvoice in Poland). The authority holds whatever was first sent under the number;
the portal compares with its own record of the earlier sends of the administration under that
number (to the same country, with a key of the same mode) that may have reached it:
- SAME: one of them carried the very same request body (SHA-256): the authority holds this
  invoice already. A person may adopt that earlier outcome (`duplicate_adopt`): the invoice is
  accepted, as its earlier send was, and goes into the books.
- DIFFERENT: none did (another body, or no send at all in the portal: the number was used outside
  it). The invoice needs a number of its own (`duplicate_renumber`): a draft again, with the next
  number of the sequence, to be checked and submitted as a new invoice.

`submissions_reconcile` is called inside the transaction that records the terminal answer (the
poller's flush, an immediate answer to the POST) and costs a fixed number of queries, however many
submissions a flush brings; only the duplicate answers pay for it.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clearfacts_app.activity import activity_record
from clearfacts_app.roles import Action, can
from invoicing import books, numbers, profiles, services
from invoicing.models import DuplicateMatch, Invoice, Submission

Status = Submission.ClearanceStatus
State = Submission.State
# The rejections that mean "this number was already sent" (error.source casefolded, error.code).
DUPLICATE_REJECTIONS = {("sdi", "00002"), ("ksef", "DuplicateInvoice")}
# Ended before anything was sent: the office's key was refused on a first attempt.
NOTHING_SENT = {Submission.Reason.KEY_REFUSED, Submission.Reason.NO_KEY, Submission.Reason.NOT_ALLOWED}
# The invoice statuses a duplicate answer leaves an invoice in.
ANSWERED_DUPLICATE = {Invoice.Status.DUPLICATE, Invoice.Status.REJECTED}
HASH_SHOWN = 12


class DecisionRefused(Exception):
    """What the invoice's state or the person's role does not allow; the message says why, to the user."""


def is_duplicate_answer(clearance_status, error) -> bool:
    """Whether the authority's answer says it already has the invoice number."""
    if clearance_status == Status.DUPLICATE:
        return True
    if clearance_status != Status.REJECTED or not error:
        return False
    return (str(error.get("source", "")).casefold(), str(error.get("code", ""))) in DUPLICATE_REJECTIONS


def _body_number(body) -> str:
    """The invoiceNumber a stored body carries (for rows written before Submission.invoice_number)."""
    try:
        return str(json.loads(bytes(body)).get("invoiceNumber", ""))
    except (ValueError, AttributeError):
        return ""


def _may_have_reached(row: dict) -> bool:
    """Whether an earlier send may be what the authority holds under its number.

    Not when Clearvo refused it (400/422), it was never attempted, or nothing was sent (its key was
    refused on a first attempt); not when the authority answered it with a rejection or as a
    duplicate itself: then the authority did not take that body either (the one it took is
    another earlier send, or none of the portal's).
    """
    if row["state"] == State.REFUSED or not row["attempts"]:
        return False
    if row["state"] == State.FAILED and row["reason_code"] in NOTHING_SENT:
        return False
    return row["clearance_status"] not in (Status.REJECTED, Status.DUPLICATE)


CANDIDATE_FIELDS = [
    "pk",
    "invoice_id",
    "invoice__administration_id",
    "invoice__country",
    "api_mode",
    "invoice_number",
    "body_sha256",
    "state",
    "attempts",
    "reason_code",
    "clearance_status",
]


def _verdict(target: dict, earlier: list[dict]) -> tuple[str, int | None]:
    same = [row for row in earlier if row["body_sha256"] == target["body_sha256"]]
    if same:
        accepted = [row for row in same if row["clearance_status"] == Status.ACCEPTED]
        return DuplicateMatch.SAME, max(row["pk"] for row in accepted or same)
    return DuplicateMatch.DIFFERENT, max((row["pk"] for row in earlier), default=None)


def submissions_reconcile(submission_ids) -> None:
    """Sets `duplicate` and `duplicate_of` on the submissions the authority answered as duplicates.

    Call it inside the transaction that records the answer. Four queries for any number of them
    (none for an empty list): the submissions, the earlier sends under their numbers (with and
    without a recorded number), one UPDATE.
    """
    ids = list(submission_ids)
    if not ids:
        return
    targets = list(Submission.objects.filter(pk__in=ids).values(*CANDIDATE_FIELDS, "body"))
    for target in targets:
        target["invoice_number"] = target["invoice_number"] or _body_number(target.pop("body"))
        target.pop("body", None)
    administrations = {target["invoice__administration_id"] for target in targets}
    numbered = Submission.objects.filter(
        invoice__administration_id__in=administrations,
        invoice_number__in={target["invoice_number"] for target in targets},
    ).values(*CANDIDATE_FIELDS)
    unnumbered = Submission.objects.filter(invoice__administration_id__in=administrations, invoice_number="").values(
        *CANDIDATE_FIELDS, "body"
    )
    sends = list(numbered)
    for row in unnumbered:
        row["invoice_number"] = _body_number(row.pop("body"))
        sends.append(row)
    changed = []
    for target in targets:
        earlier = [
            row
            for row in sends
            if row["pk"] < target["pk"]
            and row["invoice_number"] == target["invoice_number"]
            and row["invoice__administration_id"] == target["invoice__administration_id"]
            and row["invoice__country"] == target["invoice__country"]
            and (row["api_mode"] == target["api_mode"] or not row["api_mode"] or not target["api_mode"])
            and _may_have_reached(row)
        ]
        verdict, earlier_id = _verdict(target, earlier)
        changed.append(Submission(pk=target["pk"], duplicate=verdict, duplicate_of_id=earlier_id))
    Submission.objects.bulk_update(changed, ["duplicate", "duplicate_of"])


# What a person decides


def _latest(invoice: Invoice) -> Submission | None:
    return invoice.submissions.order_by("-pk").first()


def _refused_state(invoice: Invoice) -> str:
    return _("Invoice %(number)s is not waiting for a decision about a duplicate number (it is %(status)s).") % {
        "number": invoice.invoice_number,
        "status": invoice.get_status_display().lower(),
    }


def _when(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _earlier_data(earlier: Submission) -> dict:
    """What the audit row keeps of the earlier send whose outcome is adopted."""
    return {
        "submission": earlier.pk,
        "invoice": earlier.invoice_id,
        "idempotency_key": str(earlier.idempotency_key),
        "body_sha256": earlier.body_sha256,
        "sent_at": _when(earlier.first_attempt_at or earlier.created_at),
        "submitted_by": earlier.submitted_by.email,
        "reference_id": earlier.reference_id,
        "clearance_status": earlier.clearance_status,
        "cleared_at": _when(earlier.cleared_at),
    }


def _waiting(earlier: Submission) -> bool:
    """The earlier send is still followed: the authority has not decided on it yet."""
    return earlier.state == State.SENT and not earlier.terminal


def _another_invoice(earlier: Submission) -> str:
    return _(
        "The same content was sent as invoice %(number)s of the portal: that invoice is the authority's record. "
        "Keep it; reopen this copy and delete it."
    ) % {"number": earlier.invoice.invoice_number}


def _earlier_waiting() -> str:
    return _("The earlier send is still waiting for the tax authority's decision: wait for it before deciding.")


def duplicate_adopt(*, submission: Submission, user, confirmed: bool) -> Invoice:
    """The authority holds this very invoice from an earlier send: the invoice takes that outcome (ACCEPTED).

    Only for the invoice's latest submission, answered as a duplicate whose earlier send carried the
    same body (SAME), not adopted yet, the invoice still DUPLICATE or REJECTED; and only when the
    person `confirmed` it. Recorded in the audit log; the invoice goes into the books as an accepted
    one does. Raises DecisionRefused otherwise, and nothing changes.
    """
    if not confirmed:
        raise DecisionRefused(_("Confirm that the tax authority's record is this invoice before adopting it."))
    with transaction.atomic():
        locked = Submission.objects.select_for_update().select_related("invoice__administration").get(pk=submission.pk)
        invoice = Invoice.objects.select_for_update().select_related("administration").get(pk=locked.invoice_id)
        if not can(user, Action.SUBMIT, invoice.administration):
            raise DecisionRefused(_("Your role on this administration lets you follow invoices, not submit them."))
        latest = _latest(invoice)
        if (
            latest is None
            or latest.pk != locked.pk
            or locked.duplicate != DuplicateMatch.SAME
            or locked.duplicate_of_id is None
            or locked.adopted_at is not None
            or invoice.status not in ANSWERED_DUPLICATE
        ):
            raise DecisionRefused(_refused_state(invoice))
        earlier = Submission.objects.select_related("submitted_by").get(pk=locked.duplicate_of_id)
        if earlier.invoice_id != invoice.pk:
            raise DecisionRefused(_another_invoice(earlier))
        if _waiting(earlier):
            raise DecisionRefused(_earlier_waiting())
        now = timezone.now()
        Submission.objects.filter(pk=locked.pk).update(adopted_by=user, adopted_at=now, updated_at=now)
        Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.ACCEPTED, updated_at=now)
        activity_record(
            administration=invoice.administration,
            actor=user,
            action="invoice.duplicate_adopted",
            data={
                "invoice": invoice.pk,
                "number": invoice.invoice_number,
                "submission": locked.pk,
                "earlier": _earlier_data(earlier),
            },
            changes={"status": [invoice.status, Invoice.Status.ACCEPTED]},
        )
        books.book_filings_request([invoice.pk])  # as an acceptance does: one filing per invoice, whatever repeats
        invoice.refresh_from_db()
    return invoice


def duplicate_renumber(*, invoice: Invoice, user) -> Invoice:
    """A different invoice already used the number: a draft again, with the next number of the sequence.

    Only when the invoice's latest submission was answered as a duplicate of a different invoice
    (DIFFERENT) and the invoice is still DUPLICATE or REJECTED. A new version (an approval was for
    the old one); the person checks it and submits it, a new submission with a new key. Raises
    DecisionRefused otherwise, and nothing changes.
    """
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().select_related("administration").get(pk=invoice.pk)
        if not can(user, Action.SUBMIT, locked.administration):
            raise DecisionRefused(_("Your role on this administration lets you follow invoices, not submit them."))
        latest = _latest(locked)
        if (
            latest is None
            or latest.duplicate != DuplicateMatch.DIFFERENT
            or latest.adopted_at is not None
            or locked.status not in ANSWERED_DUPLICATE
        ):
            raise DecisionRefused(_refused_state(locked))
        old_number, old_status = locked.invoice_number, locked.status
        new_number = numbers.number_allocate(profiles.profile_for(locked.administration), on=locked.issue_date)
        # As a rejected invoice reopened: the answered submission leaves the active ones.
        services.answered_back_to_draft(locked, user, invoice_number=new_number)
        activity_record(
            administration=locked.administration,
            actor=user,
            action="invoice.renumbered",
            data={"invoice": locked.pk, "number": new_number, "submission": latest.pk, "version": locked.version},
            changes={"invoice_number": [old_number, new_number], "status": [old_status, Invoice.Status.DRAFT]},
        )
    return locked


# What the invoice page shows


@dataclass(frozen=True)
class Reconciliation:
    """The invoice's latest submission answered as a duplicate, and what the portal knows of the number."""

    invoice: Invoice
    submission: Submission
    earlier: Submission | None

    @property
    def same(self) -> bool:
        return self.submission.duplicate == DuplicateMatch.SAME

    @property
    def number(self) -> str:
        return self.submission.invoice_number or self.invoice.invoice_number

    @property
    def adopted(self) -> bool:
        return self.submission.adopted_at is not None

    @property
    def open(self) -> bool:
        """Still waiting for a person's decision."""
        return not self.adopted and self.invoice.status in ANSWERED_DUPLICATE

    @property
    def can_adopt(self) -> bool:
        return self.open and self.same and self.earlier is not None and not self.earlier_elsewhere and not self.waiting

    @property
    def waiting(self) -> bool:
        """The earlier send is still followed: its decision is to come."""
        return self.earlier is not None and _waiting(self.earlier)

    @property
    def earlier_accepted(self) -> bool:
        return self.earlier is not None and self.earlier.clearance_status == Status.ACCEPTED

    @property
    def can_renumber(self) -> bool:
        return self.open and not self.same

    @property
    def earlier_sent_at(self) -> datetime | None:
        if self.earlier is None:
            return None
        return self.earlier.first_attempt_at or self.earlier.created_at

    @property
    def earlier_by(self) -> str:
        if self.earlier is None:
            return ""
        return self.earlier.submitted_by.get_full_name() or self.earlier.submitted_by.email

    @property
    def earlier_hash(self) -> str:
        return self.earlier.body_sha256[:HASH_SHOWN] if self.earlier else ""

    @property
    def earlier_elsewhere(self) -> bool:
        """The earlier send belongs to another invoice of the portal (the page links to it)."""
        return self.earlier is not None and self.earlier.invoice_id != self.invoice.pk


def duplicate_reconciliation(invoice: Invoice, latest: Submission | None = None) -> Reconciliation | None:
    """The reconciliation to show on `invoice`'s page, or None: its latest submission (`latest`, when the
    caller has it) is no duplicate answer, or the invoice was given a new number since."""
    if latest is None:
        latest = invoice.submissions.order_by("-pk").first()
    if latest is None or not latest.duplicate:
        return None
    if not latest.adopted_at and invoice.status not in ANSWERED_DUPLICATE:
        return None
    earlier = None
    if latest.duplicate_of_id:
        earlier = Submission.objects.select_related("submitted_by", "invoice").get(pk=latest.duplicate_of_id)
    return Reconciliation(invoice=invoice, submission=latest, earlier=earlier)


def next_number(invoice: Invoice) -> str:
    """The number `duplicate_renumber` would give the invoice now (another save may take it first)."""
    return numbers.number_suggest(profiles.profile_for(invoice.administration), on=invoice.issue_date)
