"""Reads of invoices: the lists (filtered, a page at a time) and the dashboard's counts.

A list is paged by keyset, newest first on (created_at, id), the order of the indexes
invoice_latest_idx and invoice_status_idx: a page reads its rows and one more, never counts the
table, and costs the same on page 1 as on page 4,000. Its amounts come from the page's lines,
read in one query and added up by invoicing.totals (VAT per rate group, as the invoice shows it).
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clearfacts_app.models import Administration
from invoicing import totals
from invoicing.models import Invoice, InvoiceLine
from portal.parsing import is_number

PAGE_SIZE = 25

Status = Invoice.Status

# Status filters that stand for several statuses: the dashboard links to them.
STATUS_GROUPS = {"waiting": (Status.SUBMITTING, Status.PENDING)}
STATUS_FILTERS = [("waiting", _("Waiting for clearance")), *Status.choices]


def visible_invoices(*, user) -> QuerySet:
    """The invoices of every administration `user` may see.

    The administrations' ids are read first (one small query) and passed as a list: given the
    subquery instead, SQLite planned the dashboard's counts over every tenant's invoices of a status
    (EXPLAIN QUERY PLAN, 100,000 invoices: 34 ms against 0.4 ms for a user with one administration).
    """
    ids = list(Administration.objects.visible_to(user).values_list("pk", flat=True))
    return Invoice.objects.filter(administration__in=ids)


def statuses_for(status_filter: str) -> tuple[str, ...]:
    """The statuses a value of the status filter stands for (none for an unknown value)."""
    if status_filter in STATUS_GROUPS:
        return STATUS_GROUPS[status_filter]
    return (status_filter,) if status_filter in Status.values else ()


def invoices_filtered(
    invoices: QuerySet,
    *,
    status: str = "",
    country: str = "",
    document_type: str = "",
    issued_from: date | None = None,
    issued_to: date | None = None,
    search: str = "",
) -> QuerySet:
    """`invoices` narrowed by each filter that is set; `search` looks in the number and the buyer's name and tax id."""
    if statuses := statuses_for(status):
        invoices = invoices.filter(status__in=statuses)
    if country:
        invoices = invoices.filter(country=country)
    if document_type:
        invoices = invoices.filter(document_type=document_type)
    if issued_from:
        invoices = invoices.filter(issue_date__gte=issued_from)
    if issued_to:
        invoices = invoices.filter(issue_date__lte=issued_to)
    if search:
        invoices = invoices.filter(_search_matches(search))
    return invoices


# A tax id as people copy it: an optional country prefix, then digits with letters, spaces or dots.
TAX_ID_LIKE = re.compile(r"(?:[A-Z]{2})?[0-9][0-9A-Z]{3,}")


def _search_matches(search: str) -> Q:
    """The number, the buyer's name or tax id holds `search`. A search that looks like a tax id is
    also looked for without its spaces and dots, and without a country prefix ("IT00743110157",
    as the preview shows it, finds the buyer tax id 00743110157, which is kept without it)."""
    needles = {search}
    compact = re.sub(r"[\s.]", "", search).upper()
    if TAX_ID_LIKE.fullmatch(compact):
        needles |= {compact, compact[2:]} if compact[:2].isalpha() else {compact}
    matches = Q(invoice_number__icontains=search) | Q(buyer_name__icontains=search)
    for needle in needles:
        matches |= Q(buyer_tax_id__icontains=needle)
    return matches


# --- keyset pages ---

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    """A place in the newest-first order: an invoice's (created_at, id), written "<microseconds>.<id>" in links."""

    created_at: datetime
    pk: int

    @classmethod
    def of(cls, invoice: Invoice) -> "Cursor":
        return cls(invoice.created_at, invoice.pk)

    @classmethod
    def parse(cls, text: str) -> "Cursor | None":
        """The cursor a link carries, or None for anything else (a hand-edited link shows the first page)."""
        micros, _dot, pk = (text or "").partition(".")
        if not (is_number(micros) and is_number(pk)) or len(micros) > 18 or len(pk) > 18:
            return None
        try:
            return cls(EPOCH + timedelta(microseconds=int(micros)), int(pk))
        except OverflowError:
            return None

    def __str__(self) -> str:
        return f"{(self.created_at - EPOCH) // timedelta(microseconds=1)}.{self.pk}"


@dataclass
class InvoiceRow:
    invoice: Invoice
    totals: totals.Totals

    @property
    def gross(self) -> Decimal:
        return self.totals.gross


@dataclass
class InvoicePage:
    rows: list[InvoiceRow]
    newer: str = ""  # the cursor of the page before this one, when there is one
    older: str = ""  # the cursor of the page after this one, when there is one


def _older_than(cursor: Cursor) -> Q:
    # Written as a range on created_at plus a tie-break, so the database walks the index from the cursor.
    return Q(created_at__lte=cursor.created_at) & ~Q(created_at=cursor.created_at, id__gte=cursor.pk)


def _newer_than(cursor: Cursor) -> Q:
    return Q(created_at__gte=cursor.created_at) & ~Q(created_at=cursor.created_at, id__lte=cursor.pk)


def invoice_page(invoices: QuerySet, *, after: str = "", before: str = "", size: int = PAGE_SIZE) -> InvoicePage:
    """A page of `invoices`, newest first: the first page, the one after cursor `after` (older invoices),
    or the one before cursor `before` (newer ones). Two queries whatever the number of invoices.

    A cursor past either end (its neighbours deleted since the link was made) shows the first page.
    """
    invoices = invoices.select_related("author", "administration")
    older, newer = Cursor.parse(after), Cursor.parse(before)
    if older:
        found = list(invoices.filter(_older_than(older)).order_by("-created_at", "-id")[: size + 1])
        if found:
            return _page(found[:size], has_newer=True, has_older=len(found) > size)
    elif newer:
        found = list(invoices.filter(_newer_than(newer)).order_by("created_at", "id")[: size + 1])
        if len(found) > size:
            return _page(found[:size][::-1], has_newer=True, has_older=True)
    found = list(invoices.order_by("-created_at", "-id")[: size + 1])
    return _page(found[:size], has_newer=False, has_older=len(found) > size)


def _page(found: list[Invoice], *, has_newer: bool, has_older: bool) -> InvoicePage:
    lines = Prefetch(
        "lines", queryset=InvoiceLine.objects.only("invoice_id", "quantity", "unit_price", "tax_code", "position")
    )
    prefetch_related_objects(found, lines)
    rows = [InvoiceRow(invoice, totals.compute(invoice.country, invoice.lines.all())) for invoice in found]
    return InvoicePage(
        rows=rows,
        newer=str(Cursor.of(found[0])) if found and has_newer else "",
        older=str(Cursor.of(found[-1])) if found and has_older else "",
    )


# --- the dashboard ---


@dataclass(frozen=True)
class StatusCount:
    status_filter: str  # a value of the lists' status filter, for the link
    label: str
    count: int


DASHBOARD_COUNTS = [
    (Status.DRAFT, _("Drafts")),
    ("waiting", _("Waiting for clearance")),
    (Status.REJECTED, pgettext_lazy("invoices on the dashboard", "Rejected")),
]


def invoice_counts(*, user) -> list[StatusCount]:
    """How many of the invoices `user` may see are drafts, waiting for clearance or rejected (two queries)."""
    wanted = {status for status_filter, _label in DASHBOARD_COUNTS for status in statuses_for(status_filter)}
    per_status = dict(
        visible_invoices(user=user)
        .filter(status__in=wanted)
        .order_by()
        .values_list("status")
        .annotate(count=Count("id"))
    )
    return [
        StatusCount(status_filter, label, sum(per_status.get(status, 0) for status in statuses_for(status_filter)))
        for status_filter, label in DASHBOARD_COUNTS
    ]
