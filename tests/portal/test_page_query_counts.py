"""What each main page costs: the same number of queries with a handful of invoices, documents,
comments, activity rows and notifications as with many times more (issue 16: query counts
independent of the data). Every page read here is local: none calls Clearfacts or Clearvo."""

import difflib
import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from clearfacts_app.activity import FEED_PAGE
from clearfacts_app.models import Activity, DocumentComment, Notification
from invoicing.models import Invoice, InvoiceComment, Submission
from invoicing.selectors import PAGE_SIZE
from tests.factories import make_administration, make_document, make_invoice, make_user
from tests.invoicing import cockpit_helpers as problems
from tests.invoicing.clearance_helpers import make_submission

Status, Clearance = Invoice.Status, Submission.ClearanceStatus
LINES = [
    (Decimal("2"), Decimal("100.00"), "S"),
    (Decimal("1"), Decimal("45.50"), "S"),
    (Decimal("3"), Decimal("9.99"), "S"),
]
_keys = itertools.count(1)
HTMX = {"HX-Request": "true"}


def shortened(queries: list[str]) -> list[str]:
    return [query[:160] for query in queries]


@pytest.fixture
def office_data(office, administration, owner):
    """The office's administrations, the office administrator who sees them all, and a colleague."""
    second = make_administration(office, "Brouwerij De Leeuw NV")
    owner.administration_accesses.create(administration=second, role="approver")
    colleague = make_user(office, administrations=[administration, second], name="Sara Wouters")
    return [administration, second], owner, colleague


def invoice_pages(company, invoice) -> dict[str, str]:
    tab = f"/administrations/{company.company_number}/invoices/"
    page = f"{tab}{invoice.pk}/"
    return {
        "invoice list": tab,
        "invoice list, status filter": f"{tab}?status=pending",
        "invoice list, search": f"{tab}?q=Rossi",
        "invoice": page,
        "invoice timeline (HTMX)": f"{page}timeline/",
    }


def pages(company, invoice) -> dict[str, str]:
    return {
        "dashboard": "/",
        "administrations": "/administrations/",
        "administration": f"/administrations/{company.company_number}/",
        **invoice_pages(company, invoice),
        "all invoices": "/invoices/",
        "documents": "/documents/",
        "documents tab": f"/administrations/{company.company_number}/documents/",
        "activity": "/activity/",
        "activity tab": f"/administrations/{company.company_number}/activity/",
        "notifications": "/notifications/",
        "bell (HTMX)": "/notifications/bell/",
        "clearance queue": "/office/clearance/",
    }


# The most queries each page may run (the session and the user included). Lower one when a page
# gets cheaper; a page that needs more says why in the change that raises it.
BUDGET = {
    "dashboard": 11,
    "administrations": 6,
    "administration": 7,  # the user's role comes with the administration (portal.tenancy)
    "invoice list": 10,
    "invoice list, status filter": 9,
    "invoice list, search": 10,
    "invoice": 13,  # the invoicing profile comes with the invoice, for the review and books boxes
    "invoice timeline (HTMX)": 6,
    "all invoices": 10,
    "documents": 6,
    "documents tab": 7,
    "activity": 7,
    "activity tab": 8,
    "notifications": 6,
    "bell (HTMX)": 3,
    "clearance queue": 13,
}


def history(invoice, user, *, submissions: int, events: int) -> None:
    """`submissions` earlier sends of `invoice`, each with `events` statuses from Clearvo."""
    start = timezone.now() - timedelta(days=30)
    earlier = Submission.objects.filter(invoice=invoice, terminal=False)
    earlier.update(terminal=True, clearance_status=Clearance.REJECTED)
    for s in range(submissions):
        last = s == submissions - 1
        clearance = Clearance.PENDING if last else Clearance.REJECTED
        make_submission(
            invoice,
            user,
            reference_id=f"IT-{invoice.pk}-{next(_keys)}",
            clearance_status=clearance,
            terminal=not last,
            events=[
                (status, start + timedelta(days=s, minutes=e), f"event {e}")
                for e, status in enumerate(itertools.islice(itertools.cycle(["PENDING", "UNDELIVERED"]), events - 1))
            ]
            + [(clearance, start + timedelta(days=s, hours=23), "decided")],
        )


def seed(companies, people, count: int) -> None:
    """`count` of each: invoices (with lines, a submission, events, a comment), documents (with a
    comment), activity rows, notifications of the office administrator, and a few open problems."""
    owner = people[0]
    statuses = [Status.DRAFT, Status.PENDING, Status.ACCEPTED, Status.REJECTED]
    for n in range(count):
        company, author = companies[n % len(companies)], people[n % len(people)]
        status = statuses[(n // 2 + n) % len(statuses)]  # each status in each company within 8
        invoice = make_invoice(
            company, author, lines=LINES, status=status, assignee=people[(n + 1) % len(people)] if n % 3 else None
        )
        if status != Status.DRAFT:
            history(invoice, author, submissions=1, events=2)
        comment = InvoiceComment.objects.create(administration=company, author=author, invoice=invoice, body="@An ok?")
        comment.mentioned.add(owner)
        document = make_document(company, author, filename=f"doc-{next(_keys)}.pdf", assignee=owner if n % 2 else None)
        DocumentComment.objects.create(administration=company, author=author, document=document, body="seen")
        if n % 8 < 2:  # six rows each: the small set stays below a feed page, so a per-row query shows
            activity_rows(company, author, invoice, document, reviewer=people[(n + 1) % len(people)])
        Notification.objects.create(
            recipient=owner,
            administration=company,
            actor=author,
            kind=[Notification.Kind.MENTIONED, Notification.Kind.INVOICE_ACCEPTED][n % 2],
            key=f"invoice:{invoice.pk}:{next(_keys)}",
            data={"invoice": invoice.pk, "number": invoice.invoice_number},
            url=f"/administrations/{company.company_number}/invoices/{invoice.pk}/",
        )
    for n in range(max(3, count // 8)):
        company = companies[n % len(companies)]
        [problems.stuck, problems.rejected, problems.held][n % 3](company, people[n % len(people)])


def activity_rows(company, actor, invoice, document, *, reviewer) -> None:
    """Rows of each kind the feed describes: documents, comments, invoices and a review naming a person by id."""
    about_invoice = {"invoice": invoice.pk, "number": invoice.invoice_number}
    Activity.objects.bulk_create(
        Activity(office_id=company.office_id, administration=company, actor=actor, action=action, data=data)
        for action, data in [
            ("document.uploaded", {"document": document.pk, "filename": document.filename}),
            ("document.assigned", {"document": document.pk, "filename": document.filename, "assignee": reviewer.pk}),
            ("comment.added", {"target": "invoice", "target_id": invoice.pk, "label": invoice.invoice_number}),
            ("invoice.created", about_invoice),
            ("invoice.review_requested", about_invoice | {"reviewer": reviewer.pk}),
            ("invoice.cleared", about_invoice),
        ]
    )


def queries_of(client, urls: dict[str, str], texts: dict[str, str]) -> dict[str, list[str]]:
    """The SQL each page runs, every page read once before: the session (which remembers the last
    administration and list filters) and any cache are then the same for both data sets."""
    for name, url in urls.items():
        client.get(url, headers=HTMX if "(HTMX)" in name else {})
    captured_by_page = {}
    for name, url in urls.items():
        headers = HTMX if "(HTMX)" in name else {}
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, headers=headers)
        assert response.status_code == 200, (name, url, response.status_code)
        captured_by_page[name] = [query["sql"] for query in captured.captured_queries]
        texts[name] = response.text
    return captured_by_page


def test_every_main_page_runs_as_many_queries_with_ten_times_the_data(client, office_data):
    companies, owner, colleague = office_data
    company = companies[0]
    people = [owner, colleague]
    client.force_login(owner)

    with transaction.atomic():
        shown = make_invoice(company, owner, lines=LINES, status=Status.PENDING, invoice_number="F-SHOWN")
        history(shown, owner, submissions=2, events=2)
        seed(companies, people, 8)
    small = queries_of(client, pages(company, shown), {})

    with transaction.atomic():
        history(shown, colleague, submissions=6, events=8)
        people += [
            make_user(companies[0].office, role=Membership.Role.MEMBER, administrations=companies, name=name)
            for name in ["Tom Claes", "Lies Maes"]
        ]
        seed(companies, people, 72)
    shown_large = {}
    large = queries_of(client, pages(company, shown), shown_large)
    # The large pages do show full pages of rows (and the invoice its eight sends).
    assert shown_large["activity"].count("data-activity=") == FEED_PAGE
    assert shown_large["all invoices"].count("/invoices/") >= PAGE_SIZE
    assert shown_large["invoice timeline (HTMX)"].count("decided") >= 8

    table = "\n".join(f"{name:28} {len(small[name]):3} {len(large[name]):3}" for name in small)
    print(table)
    grown = [name for name in small if len(large[name]) != len(small[name])]
    details = "\n\n".join(
        f"--- {name}:\n" + "\n".join(difflib.unified_diff(shortened(small[name]), shortened(large[name]), lineterm=""))
        for name in grown
    )
    assert not grown, f"page, queries with a little data, with ten times more:\n{table}\n\n{details}"
    over = {name: len(large[name]) for name in large if len(large[name]) > BUDGET[name]}
    assert not over, f"pages over their query budget: {over}\n\n" + "\n\n".join(
        f"--- {name}:\n" + "\n".join(shortened(large[name])) for name in over
    )
