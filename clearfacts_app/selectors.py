"""Reads from Clearfacts that pages need, cached per user and question for a short time.

A page therefore makes at most one remote call per question, and repeating it within
CLEARFACTS_READ_CACHE_SECONDS makes none; `refresh=True` (the pages' refresh buttons) asks again.
Errors are never cached. What the portal mirrors (administrations) is read from the database.
"""

import calendar
import datetime
import hashlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from clearfacts_app import client
from clearfacts_app.models import Administration, Document
from portal.pagination import BoundedPaginator

CUSTOMERS_PER_REQUEST = 100  # Clearfacts' page size
SEARCH_MAX_CHUNKS = 10  # counting and searching read at most the first 1000 customers


def cache_key(*, user, operation: str, variables: dict | None = None) -> str:
    """Where the answer to `operation` with `variables` for `user` is cached."""
    digest = hashlib.sha256(json.dumps(variables or {}, sort_keys=True).encode()).hexdigest()[:32]
    return f"clearfacts:{user.pk}:{operation}:{digest}"


def cached_read(*, user, operation: str, variables: dict | None = None, refresh: bool = False) -> dict:
    key = cache_key(user=user, operation=operation, variables=variables)
    if not refresh:
        data = cache.get(key)
        if data is not None:
            return data
    data = client.execute(user=user, operation=operation, variables=variables)
    cache.set(key, data, settings.CLEARFACTS_READ_CACHE_SECONDS)
    return data


def accountant(*, user, refresh: bool = False) -> dict:
    return cached_read(user=user, operation="Accountant", refresh=refresh)["accountant"]


ASSOCIATE_DETAILS = {"lastName": None, "type": None, "active": None, "language": None}


def associates(*, user, refresh: bool = False) -> list[dict]:
    """The office's associates; `detailsKnown` is False (and the assumed fields None) when
    Clearfacts does not offer the assumed fields (docs/decisions.md)."""
    found = cached_read(user=user, operation="AssociatesWithDetails", refresh=refresh)["associates"]
    return [ASSOCIATE_DETAILS | associate | {"detailsKnown": "type" in associate} for associate in found]


def associate_groups(*, user, refresh: bool = False) -> list[dict]:
    return cached_read(user=user, operation="AssociateGroups", refresh=refresh)["associateGroups"]


def forget_associates(*, user) -> None:
    """After a change, the next page shows Clearfacts' new list."""
    cache.delete(cache_key(user=user, operation="AssociatesWithDetails"))


def document(*, user, uuid: str, refresh: bool = False) -> dict:
    """What Clearfacts knows of an uploaded document (date, type, payment state, ...)."""
    return cached_read(user=user, operation="DocumentWithDetails", variables={"id": uuid}, refresh=refresh)["document"]


def journals(*, user, administration: Administration, refresh: bool = False) -> list[dict]:
    variables = {"companyNumber": administration.company_number}
    return cached_read(user=user, operation="Journals", variables=variables, refresh=refresh)["journals"]


def archive_categories(*, user, administration: Administration, refresh: bool = False) -> dict:
    variables = {"vatnumber": administration.company_number}
    return cached_read(user=user, operation="ArchiveCategories", variables=variables, refresh=refresh)[
        "archiveCategories"
    ]


def customers_chunk(*, user, administration: Administration, offset: int, refresh: bool = False) -> list[dict]:
    """One of Clearfacts' pages of (at most) 100 customers."""
    variables = {"companyNumber": administration.company_number, "offset": offset}
    return cached_read(user=user, operation="CustomersWithDetails", variables=variables, refresh=refresh)["customers"]


@dataclass
class CustomerPage:
    customers: list[dict]
    number: int
    total: int  # customers (or matches) counted; at least this many when not `counted_all`
    pages: int
    counted_all: bool = True  # False: Clearfacts has more than the COUNT_MAX_CHUNKS pages read
    searched: int = 0  # customers read from Clearfacts
    pages_known: bool = True  # False: only Clearfacts knows how many pages there are

    @property
    def searched_all(self) -> bool:
        return self.counted_all

    @property
    def known_pages(self) -> int | None:
        return self.pages if self.pages_known else None

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages or (not self.counted_all and len(self.customers) > 0)


def customers_read(*, user, administration: Administration, refresh: bool = False) -> tuple[list[dict], bool]:
    """Clearfacts' pages of customers in order until a short one, but at most SEARCH_MAX_CHUNKS of them
    (each one cached): (the customers read, whether that was all of them)."""
    customers = []
    for chunk_number in range(SEARCH_MAX_CHUNKS):
        chunk = customers_chunk(
            user=user, administration=administration, offset=chunk_number * CUSTOMERS_PER_REQUEST, refresh=refresh
        )
        customers += chunk
        if len(chunk) < CUSTOMERS_PER_REQUEST:
            return customers, True
    return customers, False


def customers_page(
    *, user, administration: Administration, number: int, query: str = "", per_page: int = 25, refresh=False
) -> CustomerPage:
    """A page of customers, with their total; searched by name, code, VAT number or city.

    Clearfacts pages customers 100 at a time, cannot search and does not say how many there are:
    the portal reads its pages in order until a short one (each one cached), but no more than
    SEARCH_MAX_CHUNKS of them (`counted_all` is then False). Without a query one page here is one of
    Clearfacts' pages; a page past the end shows the last one.
    """
    customers, counted_all = customers_read(user=user, administration=administration, refresh=refresh)
    searched = len(customers)
    if query:
        needle = query.casefold()
        fields = ("name", "id", "vatNumber", "city")
        customers = [c for c in customers if any(needle in (c.get(f) or "").casefold() for f in fields)]
    else:
        per_page = CUSTOMERS_PER_REQUEST
    pages = max(1, -(-len(customers) // per_page))
    if not query and not counted_all and number > pages:
        # Past what was counted: Clearfacts' own page at that offset, read on its own.
        chunk = customers_chunk(
            user=user, administration=administration, offset=(number - 1) * CUSTOMERS_PER_REQUEST, refresh=refresh
        )
        if chunk:
            return CustomerPage(chunk, number, len(customers), pages, counted_all, searched, pages_known=False)
    number = min(number, pages)
    start = (number - 1) * per_page
    shown = customers[start : start + per_page]
    # A search counts the pages of its matches among the customers read.
    return CustomerPage(
        shown, number, len(customers), pages, counted_all, searched, pages_known=counted_all or bool(query)
    )


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


@dataclass
class MonthStatistic:
    period: str  # "01/2025", as Clearfacts writes it
    air: int
    processing: int


def statistics(
    *, user, administration: Administration, start: datetime.date, end: datetime.date, refresh: bool = False
) -> list[MonthStatistic]:
    """AIR and processing counts per month from `start` to `end`, in one remote call."""
    variables = {
        # Unlike the other queries, statistics name a company by its VAT number: BE0123456789.
        "companyNumber": f"BE{administration.company_number}",
        "startPeriod": month_start(start).isoformat(),
        "endPeriod": month_end(end).isoformat(),
    }
    data = cached_read(user=user, operation="Statistics", variables=variables, refresh=refresh)

    def by_period(kind):
        # One entry per administration; take this one's, not merely the first.
        entry = next((e for e in data[kind] if e.get("companyNumber") == variables["companyNumber"]), None)
        return {item["period"]: item["value"] for item in (entry["items"] if entry else [])}

    air, processing = by_period("air"), by_period("processing")
    periods = sorted(set(air) | set(processing), key=lambda period: (period[3:], period[:2]))  # MM/YYYY
    return [MonthStatistic(period, air.get(period, 0), processing.get(period, 0)) for period in periods]


DOCUMENTS_PER_PAGE = 25


def document_page(documents, *, params) -> dict:
    """A page of `documents`, filtered by the `status` and `destination` of the query string."""
    status, destination = params.get("status", ""), params.get("destination", "")
    if status in Document.Status.values:
        documents = documents.filter(status=status)
    if destination in Document.Destination.values:
        documents = documents.filter(destination=destination)
    page = BoundedPaginator(documents.select_related("administration", "uploaded_by"), DOCUMENTS_PER_PAGE).get_page(
        params.get("page")
    )
    return {
        "page": page,
        "status": status,
        "destination": destination,
        "statuses": Document.Status.choices,
        "destinations": Document.Destination.choices,
    }
