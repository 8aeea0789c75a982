"""What the clearance queue costs: the same number of queries with 3 open items among 20 closed
invoices as with 30 among 400, and each query walks the index of the open rows it looks for."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clearfacts_app.models import Document
from invoicing import cockpit
from invoicing.models import BookFiling, Invoice
from tests.factories import make_administration, make_user
from tests.invoicing import cockpit_helpers as make

URL = "/office/clearance/"
# Each maker leaves one open item; cycled so that every problem (and an assignee) is there.
MAKERS = [
    make.undelivered,
    make.stuck,
    make.unconfirmed,
    make.held,
    make.duplicate,
    make.rejected,
    make.refused,
    make.failed_filing,
    make.filing_document_failed,
    make.held_document,
]


def open_items(companies, user, count: int) -> None:
    for n in range(count):
        company = companies[n % len(companies)]
        maker = MAKERS[n % len(MAKERS)]
        made = maker(company, user, filename=f"doc-{n}.pdf") if maker is make.held_document else maker(company, user)
        owner = made if isinstance(made, Document) else made.invoice
        if n % 3 == 0:
            type(owner).objects.filter(pk=owner.pk).update(assignee=user)


def closed(companies, user, count: int) -> None:
    """Invoices that need nobody (accepted and filed, or pending within their limits) and sent documents."""
    for company in companies:
        make.closed_invoices(company, user, count // len(companies))
        accepted = Invoice.objects.filter(administration=company, status=Invoice.Status.ACCEPTED)
        BookFiling.objects.bulk_create(
            [BookFiling(invoice=invoice, state=BookFiling.State.HANDED_OVER) for invoice in accepted],
            ignore_conflicts=True,
        )
        Document.objects.bulk_create(
            Document(
                administration=company,
                uploaded_by=user,
                destination=Document.Destination.INBOX,
                filename=f"sent-{n}.pdf",
                file=f"documents/sent-{n}.pdf",
                content_type="application/pdf",
                size=1,
                sha256=f"{n:064d}",
                status=Document.Status.SENT,
            )
            for n in range(count // len(companies))
        )


@pytest.fixture
def companies(office, administration, member):
    second = make_administration(office, "Brouwerij De Leeuw NV")
    member.administration_accesses.create(administration=second, role="approver")
    make_user(office, administrations=[administration, second], name="Sara Wouters")  # a second assignee candidate
    return [administration, second]


def page_queries(client, user) -> list[str]:
    client.force_login(user)
    client.get("/")  # the session and the user's first page out of the way
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_the_page_costs_the_same_with_ten_times_the_items_and_twenty_times_the_invoices(client, companies, member):
    open_items(companies, member, 3)
    closed(companies, member, 20)
    small = page_queries(client, member)
    assert cockpit.queue_items(user=member).total == 3

    open_items(companies, member, 27)
    closed(companies, member, 380)
    large = page_queries(client, member)
    assert cockpit.queue_items(user=member).total == 30

    assert len(large) == len(small), "\n".join(large)


def test_the_selector_reads_each_kind_of_problem_in_one_query(companies, member, django_assert_num_queries):
    open_items(companies, member, 30)
    closed(companies, member, 100)
    # The companies, then: alerts, past the deadline, held/refused, rejected/duplicate, failed filings, documents.
    with django_assert_num_queries(7):
        page = cockpit.queue_items(user=member, per_page=30)  # every item, on one page
        for item in page.items:
            str(item.assignee), item.reason, item.url  # noqa: B018 (all read already)
    assert {item.problem for item in page.items} == set(cockpit.Problem)


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_each_query_walks_the_index_of_its_open_rows(companies, member):
    open_items(companies, member, 10)
    closed(companies, member, 400)
    with CaptureQueriesContext(connection) as captured:
        cockpit.queue_items(user=member)
    plans = [plan(query["sql"]) for query in captured.captured_queries[1:]]

    expected = [
        ["submission_stale_idx", "submission_unsent_idx"],  # alerts, through the open submissions
        ["submission_stale_idx"],  # past the deadline
        ["invoice_status_idx"],  # held, refused, failed
        ["invoice_status_idx"],  # rejected, duplicate
        ["book_filing_state_idx"],
        [index_of(Document, "status")],
    ]
    for found, indexes in zip(plans, expected, strict=True):
        for index in indexes:
            assert index in found, found
        assert not re.search(r"SCAN (invoicing_invoice|invoicing_submission|clearfacts_app_document)\b", found), found


def index_of(model, column: str) -> str:
    with connection.cursor() as cursor:
        for index in connection.introspection.get_constraints(cursor, model._meta.db_table).items():
            name, details = index
            if details["index"] and details["columns"] == [column]:
                return name
    raise AssertionError(f"no index on {model._meta.db_table}.{column}")
