"""Changes to invoices: each one transaction that also writes its Activity row."""

from datetime import timedelta

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from clearfacts_app.activity import activity_record
from invoicing.models import Invoice, InvoiceLine, InvoicingProfile
from invoicing.numbers import number_allocate
from invoicing.profiles import profile_for, profile_problems

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
    "created_at",
    "updated_at",
}
LINE_FIELDS = ["position", "description", "quantity", "unit", "unit_price", "tax_code", "exemption_reason"]


def _ready_profile(administration) -> InvoicingProfile:
    profile = profile_for(administration)
    if profile.pk is None or profile_problems(profile):
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
        invoice_number=number_allocate(profile, on=today),
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
