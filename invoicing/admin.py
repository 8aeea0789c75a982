"""Invoices, profiles and buyers in the staff admin. An invoice that has left draft is read-only there,
lines included: what was sent to the authority is never changed behind the portal's back."""

from django.contrib import admin
from django.db.models import F

from invoicing.models import Buyer, Invoice, InvoiceLine, InvoicingProfile


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
    # Where the invoice stands is the portal's to change (submission, clearance), never the admin's.
    readonly_fields = ["administration", "status", "author", "version", "created_at", "updated_at"]
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

    def save_model(self, request, invoice, form, change):
        # A change here is a new version, so a person editing the same draft in the portal is told.
        if change:
            invoice.version = F("version") + 1
        super().save_model(request, invoice, form, change)
        invoice.refresh_from_db(fields=["version"])


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
