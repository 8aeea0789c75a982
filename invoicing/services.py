"""Writes of the invoicing app: each one transaction that also records an Activity row."""

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from clearfacts_app.activity import activity_record, changes_between
from invoicing import buyers, numbers, polling, profiles, reviews
from invoicing.models import ClearvoAccount, DuplicateMatch, Invoice, InvoiceLine, InvoicingProfile, Submission

logger = logging.getLogger(__name__)

# The invoice's fields a draft's editor changes (the rest: administration, author, status, version).
SUPPLIER_FIELDS = {
    "supplier_name": "legal_name",
    "supplier_tax_id": "tax_id",
    "supplier_tax_id_country": "tax_id_country",
    "supplier_street": "street",
    "supplier_city": "city",
    "supplier_postal_code": "postal_code",
    "supplier_country": "country",
}
EDITED_FIELDS = [*Invoice.EDITOR_FIELDS, *SUPPLIER_FIELDS]


class InvoiceConflict(Exception):
    """The draft changed (or left draft) since the editor opened it: nothing was saved."""


class InvoiceNumberTaken(Exception):
    """The typed number is already used in the administration: nothing was saved."""


def supplier_copy(invoice: Invoice, profile: InvoicingProfile) -> None:
    """The supplier as the profile says now; a draft follows its profile until it is sent."""
    for invoice_field, profile_field in SUPPLIER_FIELDS.items():
        setattr(invoice, invoice_field, getattr(profile, profile_field))


def _complete(invoice: Invoice, profile: InvoicingProfile) -> None:
    """Fills what the user may leave empty: the number (the next of the pattern) and the due date."""
    if not invoice.invoice_number:
        invoice.invoice_number = numbers.number_allocate(profile, on=invoice.issue_date)
    if invoice.due_date is None and invoice.issue_date is not None:
        invoice.due_date = invoice.issue_date + timedelta(days=profile.payment_terms_days)


def _lines_save(invoice: Invoice, lines: Sequence[InvoiceLine]) -> None:
    """Keeps exactly `lines`, in this order; lines of the invoice not among them are deleted."""
    mine = set(invoice.lines.values_list("pk", flat=True))
    strangers = [line.pk for line in lines if line.pk is not None and line.pk not in mine]
    if strangers:
        # The formset looks ids up through the invoice; this is the second line of defence.
        raise ValueError(f"lines {strangers} are not lines of invoice {invoice.pk}")
    invoice.lines.exclude(pk__in=[line.pk for line in lines if line.pk is not None]).delete()
    for position, line in enumerate(lines, start=1):
        line.invoice, line.position = invoice, position
        line.save()


def _buyer_remember(invoice: Invoice) -> None:
    before = invoice.buyer_id
    buyers.buyer_remember(invoice)
    if invoice.buyer_id != before:
        Invoice.objects.filter(pk=invoice.pk).update(buyer=invoice.buyer_id)


def invoice_create(*, administration, author, invoice: Invoice, lines: Sequence[InvoiceLine]) -> Invoice:
    """Saves a new draft with its lines: supplier from the profile, number and due date filled in.

    Raises InvoiceNumberTaken when a typed number is already used (nothing is saved then).
    """
    with transaction.atomic():
        profile = profiles.profile_for(administration)
        invoice.administration, invoice.author = administration, author
        invoice.status, invoice.version = Invoice.Status.DRAFT, 1
        supplier_copy(invoice, profile)
        _complete(invoice, profile)
        try:
            with transaction.atomic():
                invoice.save(force_insert=True)
        except IntegrityError as error:
            raise InvoiceNumberTaken(invoice.invoice_number) from error
        _lines_save(invoice, lines)
        _buyer_remember(invoice)
        activity_record(
            administration=administration,
            actor=author,
            action="invoice.created",
            data={"invoice": invoice.pk, "number": invoice.invoice_number, "type": invoice.document_type},
        )
    return invoice


def invoice_update(*, invoice: Invoice, editor, expected_version: int | None, lines: Sequence[InvoiceLine]) -> Invoice:
    """Saves the edited draft `invoice` (its fields as the editor left them) and its `lines`.

    Optimistic locking: the row is written only while it is still a draft at `expected_version`,
    the version the editor opened; then the version grows by one. Otherwise InvoiceConflict, and
    nothing is saved. A typed number already in use raises InvoiceNumberTaken.
    """
    with transaction.atomic():
        profile = profiles.profile_for(invoice.administration)
        supplier_copy(invoice, profile)
        _complete(invoice, profile)
        values = {name: getattr(invoice, name) for name in EDITED_FIELDS}
        before = Invoice.objects.filter(pk=invoice.pk).values(*EDITED_FIELDS).first() or {}
        current = Invoice.objects.filter(pk=invoice.pk, version=expected_version, status=Invoice.Status.DRAFT)
        try:
            with transaction.atomic():
                changed = reviews.content_changed(invoice, editor)  # four eyes: who saved it; approved → in review
                updated = current.update(**values, **changed, version=F("version") + 1, updated_at=timezone.now())
        except IntegrityError as error:
            raise InvoiceNumberTaken(invoice.invoice_number) from error
        if expected_version is None or updated == 0:
            raise InvoiceConflict(invoice.pk)
        invoice.version = expected_version + 1
        _lines_save(invoice, lines)
        _buyer_remember(invoice)
        activity_record(
            administration=invoice.administration,
            actor=editor,
            action="invoice.changed",
            data={"invoice": invoice.pk, "number": invoice.invoice_number, "version": invoice.version},
            changes=changes_between(before, invoice, EDITED_FIELDS),
        )
    return invoice


# Actions from the lists


class ActionRefused(Exception):
    """What the invoice's state or the profile does not allow; the message says why, to the user."""


# Not carried over to a copy: who, when and where it stands are the copy's own; the number is new.
NOT_COPIED = {
    "id",
    "invoice_number",
    "issue_date",
    "tax_point_date",
    "due_date",
    "payment_reference",
    "status",
    "author",
    "version",
    "changed_by",
    "review",
    "reviewer",
    "created_at",
    "updated_at",
}
LINE_FIELDS = ["position", "description", "quantity", "unit", "unit_price", "tax_code", "exemption_reason"]


def _ready_profile(administration) -> InvoicingProfile:
    profile = profiles.profile_for(administration)
    if profile.pk is None or profiles.profile_problems(profile):
        raise ActionRefused(_("Complete the invoicing profile first: a draft needs what Clearvo requires of it."))
    return profile


def _copy(invoice: Invoice, *, actor, profile: InvoicingProfile, **changes) -> Invoice:
    """A new draft: the invoice's buyer, payment and lines; the profile's supplier; a new number; today's dates."""
    today = timezone.localdate()
    copied = {
        field.attname: getattr(invoice, field.attname)
        for field in Invoice._meta.concrete_fields
        if field.name not in NOT_COPIED
    }
    supplier = {
        "supplier_name": profile.legal_name,
        "supplier_tax_id": profile.tax_id,
        "supplier_tax_id_country": profile.tax_id_country,
        "supplier_street": profile.street,
        "supplier_city": profile.city,
        "supplier_postal_code": profile.postal_code,
        "supplier_country": profile.country,
    }
    copy = Invoice(
        **(copied | supplier),
        invoice_number=numbers.number_allocate(profile, on=today),
        issue_date=today,
        tax_point_date=today if invoice.tax_point_date else None,
        due_date=today + timedelta(days=profile.payment_terms_days) if invoice.due_date else None,
        status=Invoice.Status.DRAFT,
        author=actor,
    )
    for name, value in changes.items():
        setattr(copy, name, value)
    copy.save()
    InvoiceLine.objects.bulk_create(
        InvoiceLine(invoice=copy, **{name: getattr(line, name) for name in LINE_FIELDS}) for line in invoice.lines.all()
    )
    return copy


def invoice_duplicate(*, invoice: Invoice, actor) -> Invoice:
    """A new draft copying `invoice` and its lines, with a new number and today's dates."""
    with transaction.atomic():
        copy = _copy(invoice, actor=actor, profile=_ready_profile(invoice.administration))
        activity_record(
            administration=invoice.administration,
            actor=actor,
            action="invoice.duplicated",
            data={"invoice": copy.pk, "number": copy.invoice_number, "from": invoice.pk},
        )
    return copy


def credit_note_create(*, original: Invoice, actor) -> Invoice:
    """A credit note draft for `original` (an invoice, not a note), with its lines to keep or trim."""
    if original.document_type != Invoice.DocumentType.INVOICE:
        raise ActionRefused(_("A credit note corrects an invoice; this is a note itself."))
    with transaction.atomic():
        note = _copy(
            original,
            actor=actor,
            profile=_ready_profile(original.administration),
            document_type=Invoice.DocumentType.CREDIT_NOTE,
            original_invoice=original,
        )
        activity_record(
            administration=original.administration,
            actor=actor,
            action="invoice.credit_note_created",
            data={"invoice": note.pk, "number": note.invoice_number, "original": original.pk},
        )
    return note


def invoice_delete_check(*, invoice: Invoice) -> None:
    """Raises ActionRefused when `invoice` may not be deleted: it left draft, or a note refers to it."""
    if not invoice.is_editable:
        raise ActionRefused(
            _("Invoice %(number)s is no longer a draft: it cannot be deleted. Make a credit note to cancel it.")
            % {"number": invoice.invoice_number}
        )
    if invoice.notes.exists():
        raise ActionRefused(
            _("Draft %(number)s cannot be deleted: a credit or debit note refers to it. Delete the note first.")
            % {"number": invoice.invoice_number}
        )


def invoice_delete(*, invoice: Invoice, actor) -> None:
    """Deletes a draft and its lines; refused (ActionRefused) for anything else."""
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        invoice_delete_check(invoice=locked)
        activity_record(
            administration=locked.administration,
            actor=actor,
            action="invoice.deleted",
            data={"invoice": locked.pk, "number": locked.invoice_number},
        )
        try:
            locked.delete()
        except ProtectedError as error:  # a note was saved against it since the check
            raise ActionRefused(
                _("Draft %(number)s cannot be deleted: a credit or debit note refers to it. Delete the note first.")
                % {"number": locked.invoice_number}
            ) from error


# Clearance: fixing a rejected invoice, and the office's Clearvo key


def answered_back_to_draft(locked: Invoice, user, **fields) -> list[int]:
    """`locked` (under its row lock), answered by the authority, back to DRAFT at a new version with
    `fields` changed; its answered submissions leave the active ones (CANCELLED: closed by a person),
    so the next submit makes a new one with a new key. Returns their ids."""
    now = timezone.now()
    closed = list(locked.submissions.filter(state__in=Submission.ACTIVE, terminal=True).values_list("pk", flat=True))
    Submission.objects.filter(pk__in=closed).update(state=Submission.State.CANCELLED, updated_at=now)
    Invoice.objects.filter(pk=locked.pk).update(
        status=Invoice.Status.DRAFT,
        version=F("version") + 1,
        updated_at=now,
        **fields,
        **reviews.content_changed(locked, user, edited=False),
    )
    locked.refresh_from_db()
    return closed


def invoice_reopen(*, invoice: Invoice, user) -> Invoice:
    """A REJECTED invoice back to DRAFT, to be fixed and submitted again (a new Submission, a new key).

    The rejected submission stays, with its events, on the invoice's timeline; it leaves the active
    ones (state CANCELLED: closed by a person) so that the next submit makes a new one rather than
    finding it. Raises ActionRefused for an invoice that is not REJECTED.
    """
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status != Invoice.Status.REJECTED:
            raise ActionRefused(
                _("Only a rejected invoice can be fixed and sent again; %(number)s is %(status)s.")
                % {"number": locked.invoice_number, "status": locked.get_status_display().lower()}
            )
        latest = locked.submissions.order_by("-pk").first()
        if (
            latest is not None
            and latest.duplicate == DuplicateMatch.SAME
            and latest.adopted_at is None
            and locked.submissions.filter(pk=latest.duplicate_of_id).exists()
        ):
            raise ActionRefused(
                _(
                    "The tax authority already holds invoice %(number)s as the portal sent it before: adopt that "
                    "earlier outcome instead of changing the invoice."
                )
                % {"number": locked.invoice_number}
            )
        closed = answered_back_to_draft(locked, user)
        activity_record(
            administration=locked.administration,
            actor=user,
            action="invoice.reopened",
            data={"invoice": locked.pk, "number": locked.invoice_number, "version": locked.version, "closed": closed},
            changes={"status": [Invoice.Status.REJECTED, Invoice.Status.DRAFT]},
        )
    return locked


def clearvo_account_save(*, office, api_key: str, user) -> ClearvoAccount:
    """Stores (encrypted) the office's Clearvo key, replacing the one it had; later submissions use it."""
    with transaction.atomic():
        account, created = ClearvoAccount.objects.select_for_update().get_or_create(
            office=office, defaults={"api_key": api_key, "updated_by": user}
        )
        mode_before = None if created else account.mode
        if not created:
            account.api_key, account.updated_by = api_key, user
            account.save(update_fields=["api_key", "updated_by", "updated_at"])
        # Never the key itself in the audit log: that it changed, and its mode (test or live).
        changes = {"api_key": [None if created else "set", "changed"]}
        activity_record(
            office=office,
            administration=None,
            actor=user,
            action="clearvo_account.changed",
            data={"mode": account.mode},
            changes=changes | changes_between({"mode": mode_before}, account, ["mode"]),
        )
        # Status checks that a refused or missing key stopped start again with the new one.
        polling.submissions_poll_resume(office=office)
    logger.info("office %s: Clearvo %s key set by user %s", office.pk, account.mode, user.pk)
    return account


def clearvo_account_remove(*, office, user) -> bool:
    """Forgets the office's own key: submissions fall back to the platform's default key (if there is one)."""
    with transaction.atomic():
        deleted, _rows = ClearvoAccount.objects.filter(office=office).delete()
        if deleted:
            activity_record(
                office=office,
                administration=None,
                actor=user,
                action="clearvo_account.removed",
                changes={"api_key": ["set", None]},
            )
            polling.submissions_poll_resume(office=office)  # the platform's key may work where the office's did not
    if deleted:
        logger.info("office %s: Clearvo key removed by user %s", office.pk, user.pk)
    return bool(deleted)
