"""Invoices, profiles and buyers in the staff admin. An invoice that has left draft is read-only there,
lines included: what was sent to the authority is never changed behind the portal's back. A staff
change or deletion of a draft is recorded in the audit log like the portal's own."""

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Substr
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from clearfacts_app.activity import activity_record, changes_between
from invoicing import clearvo, polling, reviews, submissions
from invoicing.models import (
    BookFiling,
    Buyer,
    ClearanceEvent,
    Exchange,
    Invoice,
    InvoiceLine,
    InvoicingProfile,
    NotificationSent,
    StatusAlert,
    StatusLimit,
    Submission,
)
from portal.admin_readonly import ReadOnly


def _is_frozen(invoice: Invoice | None) -> bool:
    return invoice is not None and not invoice.is_editable


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = ["position", "description", "quantity", "unit", "unit_price", "tax_code", "exemption_reason"]

    # `invoice` is the invoice whose page shows the lines.
    def has_add_permission(self, request, invoice=None):
        return not _is_frozen(invoice) and super().has_add_permission(request, invoice)

    def has_change_permission(self, request, invoice=None):
        return not _is_frozen(invoice) and super().has_change_permission(request, invoice)

    def has_delete_permission(self, request, invoice=None):
        return not _is_frozen(invoice) and super().has_delete_permission(request, invoice)


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = [
        "invoice_number",
        "administration",
        "document_type",
        "buyer_name",
        "country",
        "issue_date",
        "currency",
        "status",
        "author",
        "created_at",
    ]
    list_filter = ["status", "document_type", "country", "currency", "administration__office"]
    search_fields = ["invoice_number", "buyer_name", "buyer_tax_id", "administration__name", "author__email"]
    list_select_related = ["administration", "author"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["buyer", "original_invoice"]
    # Where the invoice stands is the portal's to change (submission, clearance, review), never the admin's.
    readonly_fields = [
        "administration",
        "status",
        "review",
        "reviewer",
        "author",
        "changed_by",
        "version",
        "created_at",
        "updated_at",
    ]
    inlines = [InvoiceLineInline]

    def has_add_permission(self, request):
        return False  # invoices are numbered and written in the portal

    def has_change_permission(self, request, invoice=None):
        return not _is_frozen(invoice) and super().has_change_permission(request, invoice)

    def has_delete_permission(self, request, invoice=None):
        return not _is_frozen(invoice) and super().has_delete_permission(request, invoice)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # The address book entry and the original invoice must be the invoice's own administration's.
        if db_field.name in ("buyer", "original_invoice"):
            invoice = self._invoice_in(request)
            model = db_field.related_model
            kwargs["queryset"] = (
                model.objects.filter(administration=invoice.administration) if invoice else model.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _invoice_in(self, request):
        object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        return Invoice.objects.filter(pk=object_id).select_related("administration").first() if object_id else None

    # A staff change to a draft is a change like the portal's editor makes: a new version (a person
    # editing the same draft in the portal is told), the staff member as who changed it last, an
    # approved draft back in review, and an "invoice.changed" row with what changed, lines included.
    # The admin runs the whole save (invoice and lines) in one transaction, the row included.

    def save_model(self, request, invoice, form, change):
        if change:
            fields = [name for name in form.changed_data if name in form.base_fields]
            before = Invoice.objects.filter(pk=invoice.pk).values(*fields).first() or {}
            form._audit_before = (before, fields, _lines_text(invoice))
            for name, value in reviews.content_changed(invoice, request.user).items():
                setattr(invoice, name, value)
            invoice.version = F("version") + 1
        super().save_model(request, invoice, form, change)
        invoice.refresh_from_db(fields=["version"])

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            return
        invoice = form.instance
        before, fields, lines_before = form._audit_before
        changes = changes_between(before, invoice, fields)
        lines_after = _lines_text(invoice)
        if lines_after != lines_before:
            changes["lines"] = [lines_before, lines_after]
        activity_record(
            administration=invoice.administration,
            actor=request.user,
            action="invoice.changed",
            data={"invoice": invoice.pk, "number": invoice.invoice_number, "version": invoice.version, "via": "admin"},
            changes=changes,
        )

    def delete_model(self, request, invoice):
        with transaction.atomic():
            _deleted_record(request, invoice)
            super().delete_model(request, invoice)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for invoice in queryset.select_related("administration"):
                _deleted_record(request, invoice)
            super().delete_queryset(request, queryset)


def _lines_text(invoice: Invoice) -> str:
    return "; ".join(
        f"{line.position}. {line.description}: {line.quantity} {line.unit} × {line.unit_price} ({line.tax_code})"
        for line in InvoiceLine.objects.filter(invoice_id=invoice.pk).order_by("position", "pk")
    )


def _deleted_record(request, invoice: Invoice) -> None:
    activity_record(
        administration=invoice.administration,
        actor=request.user,
        action="invoice.deleted",
        data={"invoice": invoice.pk, "number": invoice.invoice_number, "via": "admin"},
    )


@admin.register(InvoicingProfile)
class InvoicingProfileAdmin(admin.ModelAdmin):
    list_display = ["administration", "legal_name", "tax_id", "city", "country", "default_currency", "updated_at"]
    list_filter = ["country", "default_currency", "administration__office"]
    search_fields = ["legal_name", "tax_id", "administration__name", "administration__company_number"]
    list_select_related = ["administration"]
    autocomplete_fields = ["administration"]
    raw_id_fields = ["updated_by"]
    readonly_fields = ["updated_at"]


@admin.register(Buyer)
class BuyerAdmin(admin.ModelAdmin):
    list_display = ["name", "administration", "tax_id", "tax_id_country", "city", "country", "updated_at"]
    list_filter = ["country", "administration__office"]
    search_fields = ["name", "tax_id", "city", "administration__name"]
    list_select_related = ["administration"]
    autocomplete_fields = ["administration"]
    readonly_fields = ["created_at", "updated_at"]


# Submissions: the clearance record, read-only. Staff act on it only through the two actions, which
# go through the same functions as the portal (polling.submission_poll, submissions.submission_retry).
CONFLICT_REASON = "conflict"  # a 409: another body was sent under the key, a defect of ours
BODY_PREVIEW = 120  # characters of a raw answer shown in the list


def _pre(text: str, *, limit: int | None = None):
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return format_html('<pre class="clearvo-body">{}</pre>', text) if text else "—"


def _needs_staff(submission: Submission) -> bool:
    return submission.state == Submission.State.FAILED and submission.reason_code == CONFLICT_REASON


class NeedsStaffFilter(admin.SimpleListFilter):
    title = _("needs staff")
    parameter_name = "needs_staff"

    def lookups(self, request, model_admin):
        return [("yes", _("409 conflict: a defect to look into"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(state=Submission.State.FAILED, reason_code=CONFLICT_REASON)
        return queryset


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


class ExchangeInline(ReadOnlyInline):
    model = Exchange
    fields = ["started_at", "method", "path", "status_code", "duration_ms", "transport_error", "answer"]
    readonly_fields = fields

    @admin.display(description=_("response body"))
    def answer(self, exchange):
        return _pre(exchange.response_body)


class ClearanceEventInline(ReadOnlyInline):
    model = ClearanceEvent
    fields = ["status", "at", "message", "extra", "received_at"]
    readonly_fields = fields


class NotificationSentInline(ReadOnlyInline):
    model = NotificationSent
    fields = ["outcome", "recipient", "email", "language", "status", "sent_at"]
    readonly_fields = fields


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "invoice_number",
        "administration",
        "state_shown",
        "clearance_status",
        "attempts",
        "polls",
        "reference_id",
        "api_mode",
        "next_poll_at",
        "created_at",
        "last_answer",
    ]
    list_display_links = ["pk", "invoice_number"]
    list_filter = [
        NeedsStaffFilter,
        "state",
        "clearance_status",
        "terminal",
        "api_mode",
        "invoice__country",
        "invoice__administration__office",
    ]
    search_fields = ["invoice__invoice_number", "reference_id", "idempotency_key"]
    list_select_related = ["invoice__administration", "submitted_by"]
    date_hierarchy = "created_at"
    fields = [
        "invoice",
        "administration",
        "submitted_by",
        "state_shown",
        "reason_code",
        "reason_params",
        "violations",
        "attempts",
        "first_attempt_at",
        "next_attempt_at",
        "sending_until",
        "idempotency_key",
        "api_mode",
        "invoice_version",
        "body_sha256",
        "request_body",
        "reference_id",
        "clearance_status",
        "terminal",
        "submitted_at",
        "polls",
        "next_poll_at",
        "cleared_at",
        "rejected_at",
        "mc_deadline",
        "error",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [ExchangeInline, ClearanceEventInline, NotificationSentInline]
    actions = ["poll_now", "retry_send"]

    def get_queryset(self, request):
        last = Exchange.objects.filter(submission=OuterRef("pk")).order_by("-started_at", "-pk")
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_status=Subquery(last.values("status_code")[:1]),
                last_body=Subquery(
                    last.annotate(start=Substr("response_body", 1, BODY_PREVIEW + 1)).values("start")[:1]
                ),
            )
        )

    def has_add_permission(self, request):
        return False  # made by the portal's submit, with its key and exact bytes

    def has_change_permission(self, request, submission=None):
        return False

    def has_delete_permission(self, request, submission=None):
        return False  # the clearance record is kept

    @admin.display(description=_("invoice number"), ordering="invoice__invoice_number")
    def invoice_number(self, submission):
        return submission.invoice.invoice_number

    @admin.display(description=_("administration"), ordering="invoice__administration__name")
    def administration(self, submission):
        return submission.invoice.administration

    @admin.display(description=_("state"), ordering="state")
    def state_shown(self, submission):
        if _needs_staff(submission):
            return format_html(
                '<strong class="needs-staff">{} · {}</strong>', submission.get_state_display(), _("409 conflict")
            )
        return submission.get_state_display()

    @admin.display(description=_("last answer"))
    def last_answer(self, submission):
        if getattr(submission, "last_status", None) is None:
            return "—"
        return format_html("{} {}", submission.last_status, _pre(submission.last_body or "", limit=BODY_PREVIEW))

    @admin.display(description=_("request body"))
    def request_body(self, submission):
        return _pre(bytes(submission.body).decode("utf-8", errors="replace"))

    @admin.action(description=_("Poll the selected submissions now"))
    def poll_now(self, request, queryset):
        polled, skipped, failed = [], [], []
        for submission in queryset.select_related("invoice__administration__office"):
            if submission.state != Submission.State.SENT or submission.terminal or not submission.reference_id:
                skipped.append(str(submission))
                continue
            try:
                polling.submission_poll(submission)
            except clearvo.ClearvoError as error:
                failed.append(f"{submission}: {error.message or type(error).__name__}")
                continue
            polled.append(str(submission))
        self._report(request, done=_("Polled: %(list)s."), items=polled, skipped=skipped, failed=failed)

    @admin.action(description=_("Send the selected submissions again (same key)"))
    def retry_send(self, request, queryset):
        retried, skipped, failed = [], [], []
        for submission in queryset.select_related("invoice__administration__office"):
            if not submissions.submission_can_retry(submission):
                skipped.append(str(submission))
                continue
            try:
                submissions.submission_retry(submission=submission, user=request.user)
            except submissions.SubmitRefused as refusal:
                failed.append(f"{submission}: {refusal.message}")
                continue
            except clearvo.ClearvoError as error:
                failed.append(f"{submission}: {error.message or type(error).__name__}")
                continue
            retried.append(str(submission))
        self._report(
            request, done=_("Sent again with the same key: %(list)s."), items=retried, skipped=skipped, failed=failed
        )

    def _report(self, request, *, done, items, skipped, failed):
        if items:
            self.message_user(request, done % {"list": ", ".join(items)}, messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                _("Left alone (not in a state this action applies to): %(list)s.") % {"list": ", ".join(skipped)},
                messages.WARNING,
            )
        if failed:
            self.message_user(request, _("Failed: %(list)s.") % {"list": "; ".join(failed)}, messages.ERROR)


@admin.register(BookFiling)
class BookFilingAdmin(admin.ModelAdmin):
    """Read-only: a filing is written with ACCEPTED and moved on by its task; the document it became is
    handled on the document's own page (retry, send anyway, cancel)."""

    list_display = ["invoice", "administration", "state", "document_status", "requested_by", "created_at"]
    list_filter = ["state", "invoice__administration__office"]
    search_fields = [
        "invoice__invoice_number",
        "invoice__administration__name",
        "invoice__administration__company_number",
    ]
    list_select_related = ["invoice__administration", "document", "requested_by"]
    readonly_fields = ["invoice", "document", "state", "requested_by", "error", "created_at", "updated_at"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, filing=None):
        return False

    @admin.display(description=_("administration"), ordering="invoice__administration__name")
    def administration(self, filing):
        return filing.invoice.administration

    @admin.display(description=_("document status"))
    def document_status(self, filing):
        return filing.document.get_status_display() if filing.document else "—"


@admin.register(StatusLimit)
class StatusLimitAdmin(admin.ModelAdmin):
    """The stale-status watchdog's limits (invoicing.watchdog, docs/cockpit.md), set by the platform."""

    list_display = ["status", "country", "counted_from", "first_after", "second_after", "updated_at"]
    list_filter = ["status", "counted_from"]
    ordering = ["status", "country"]


@admin.register(StatusAlert)
class StatusAlertAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["submission", "status", "level", "limit", "since", "raised_at"]
    list_filter = ["status", "level"]
    list_select_related = ["submission__invoice"]
    raw_id_fields = ["submission"]
    date_hierarchy = "raised_at"
