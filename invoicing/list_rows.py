"""A row of the invoice lists as the values it shows, so that its HTML can be kept under them.

Drawing 25 rows was a third of an invoice list's time. A row is drawn from a `RowView` alone
(invoicing/invoice_row.html, included `only`), so two equal views draw the same HTML and a drawn row
is kept in the `fragments` cache under its view's value. Nothing in it can go stale: a changed
invoice, status, right, language or page layout is a different view, hence a different key.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.urls import reverse
from django.utils.translation import get_language

from invoicing import books
from invoicing.selectors import InvoiceRow, StatusBadge
from portal.templatetags.portal_countries import country_name


@dataclass(frozen=True)
class RowView:
    language: str
    pk: int
    url: str
    number: str
    buyer: str
    company: str  # the administration's name, on a list of several administrations' invoices
    type_label: str
    country: str  # the destination country's name, on an administration's own list
    issue_date: date | None
    gross: Decimal
    currency: str
    status: str
    badge: StatusBadge
    choose: str  # the row's checkbox: "submit" (a draft), "books" (accepted) or "" (none)
    version: int
    may_draft: bool
    is_note: bool
    is_editable: bool
    # The page's columns: the checkbox's, the actions', and the administration's instead of the country's.
    choose_column: bool
    actions_column: bool
    show_administration: bool


def row_view(row: InvoiceRow, *, choose_column: bool, actions_column: bool, show_administration: bool) -> RowView:
    """`row` as its list shows it; `row.invoice.may` is set (invoicing.list_views)."""
    invoice = row.invoice
    if not invoice.may.submit:
        choose = ""
    elif invoice.is_editable:
        choose = "submit"
    else:
        choose = "books" if books.can_file(invoice) else ""
    return RowView(
        language=get_language(),
        pk=invoice.pk,
        url=reverse(
            "invoicing:invoice-detail",
            kwargs={"company_number": invoice.administration.company_number, "invoice_pk": invoice.pk},
        ),
        number=invoice.invoice_number,
        buyer=invoice.buyer_name,
        company=invoice.administration.name if show_administration else "",
        type_label=invoice.document_type_label,
        country="" if show_administration else country_name(invoice.country, invoice.country),
        issue_date=invoice.issue_date,
        gross=row.gross,
        currency=invoice.currency,
        status=invoice.status,
        badge=row.badge,
        choose=choose,
        version=invoice.version,
        may_draft=invoice.may.draft,
        is_note=invoice.is_note,
        is_editable=invoice.is_editable,
        choose_column=choose_column,
        actions_column=actions_column,
        show_administration=show_administration,
    )
