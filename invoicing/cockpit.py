"""The office's clearance queue: every invoice and document of the administrations a person may see
that needs someone, most urgent first (docs/cockpit.md).

An item is open while its cause lasts; nothing is stored for it but who was assigned
(Invoice.assignee, Document.assignee). Each kind of problem is read by one query that walks only
open rows, through the index made for it, whatever the number of invoices the offices keep:

- UNDELIVERED and STUCK: the StatusAlert table (few rows), joined to the followed or unsent
  submission it is about; past the delivery deadline, submission_stale_idx.
- UNKNOWN and REFUSED: held sends, and sends refused or failed (submission_refused_idx), of
  invoices still draft or submitting (invoice_status_idx).
- DUPLICATE and REJECTED: invoices rejected or duplicate (invoice_status_idx), with their submissions.
- FILING and DOCUMENT: filings that failed (book_filing_state_idx), and documents that wait for a person
  (the document status index).

The queue is then sorted and filtered in memory: the open items are few next to the invoices, and
counting them per company from the same rows costs nothing more.
"""

import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.paginator import Page, Paginator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearfacts_app.models import Administration, Document
from invoicing import books, explanations
from invoicing.models import BookFiling, Invoice, StatusAlert, StatusLimit, Submission
from portal.fragments import fragment_key
from portal.parsing import is_number

PAGE_SIZE = 25  # rows a page draws, as on the invoice lists; the less urgent are on the next pages
State, Clearance = Submission.State, Submission.ClearanceStatus
UNSENT = (State.QUEUED, State.SENDING, State.RETRYING)
# The poller's reason_code once an UNDELIVERED invoice is past its mcDeadline (invoicing.polling.Reason).
UNDELIVERED_DEADLINE = "undelivered-deadline"
DOCUMENT_WAITS = sorted(Document.NEEDS_USER)  # held, failed, needs sign-in
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


class Problem(models.TextChoices):
    """What is wrong with an item of the queue, most urgent first (the order of the choices)."""

    UNDELIVERED = "undelivered", gettext_lazy("Undelivered near its deadline")
    STUCK = "stuck", gettext_lazy("Stuck past its limit")
    UNKNOWN = "unknown", gettext_lazy("Outcome unknown")
    DUPLICATE = "duplicate", gettext_lazy("Number already used")
    REJECTED = "rejected", gettext_lazy("Rejected by the authority")
    REFUSED = "refused", gettext_lazy("Refused by Clearvo")
    FILING = "filing", gettext_lazy("Not filed in the books")
    DOCUMENT = "document", gettext_lazy("Document waiting")

    @property
    def rank(self) -> int:
        return RANKS[self]


RANKS = {problem: rank for rank, problem in enumerate(Problem)}
# The badge's Bootstrap colours: red while time runs or the authority said no, amber while a person
# must check something, grey for the books and documents.
TONES = {
    Problem.UNDELIVERED: "text-bg-danger",
    Problem.STUCK: "text-bg-danger",
    Problem.UNKNOWN: "text-bg-warning",
    Problem.DUPLICATE: "text-bg-danger",
    Problem.REJECTED: "text-bg-danger",
    Problem.REFUSED: "text-bg-warning",
    Problem.FILING: "text-bg-secondary",
    Problem.DOCUMENT: "text-bg-secondary",
}


@dataclass
class QueueItem:
    problem: Problem
    administration: Administration
    key: str  # "invoice:<pk>" or "document:<pk>", what the bulk bar posts
    invoice: Invoice | None = None
    document: Document | None = None
    submission: Submission | None = None  # the submission the problem is about
    filing: BookFiling | None = None
    since: datetime | None = None  # when the problem began
    due: datetime | None = None  # the SDI's delivery deadline, for UNDELIVERED
    reason: str = ""  # why, in the active language
    may: object = None  # what the reader may do on the item's administration (set by the page)
    view: object = None  # the item as its row shows it (invoicing.cockpit_rows.ItemView, set by the page)

    @property
    def assignee(self):
        return (self.invoice or self.document).assignee

    @property
    def assignee_id(self) -> int | None:
        return (self.invoice or self.document).assignee_id

    @property
    def tone(self) -> str:
        return TONES[self.problem]

    @property
    def label(self) -> str:
        """The invoice's number or the document's file name."""
        return self.invoice.invoice_number if self.invoice is not None else self.document.filename

    @property
    def country(self) -> str:
        return self.invoice.country if self.invoice is not None else ""

    @property
    def url(self) -> str:
        company_number = self.administration.company_number
        if self.invoice is not None:
            return reverse(
                "invoicing:invoice-detail", kwargs={"company_number": company_number, "invoice_pk": self.invoice.pk}
            )
        return reverse(
            "clearfacts_app:document-detail",
            kwargs={"company_number": company_number, "document_pk": self.document.pk},
        )

    def sort_key(self):
        """Urgency: the problem's rank, then the nearest deadline, then the oldest problem."""
        return (self.problem.rank, self.due or LATEST, self.since or LATEST, self.key)


@dataclass
class CompanyCounts:
    administration: Administration
    counts: dict  # {Problem: number of open items}

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def cells(self) -> list[tuple[Problem, int]]:
        return [(problem, self.counts.get(problem, 0)) for problem in Problem]


@dataclass
class QueuePage:
    items: list[QueueItem]  # this page's, most urgent first
    total: int  # open items that match the filters
    matches: Page  # the page among the matches (its number, the previous and next)
    administrations: list[Administration] = field(default_factory=list)  # every one the reader may see
    counts: list[CompanyCounts] = field(default_factory=list)  # per company, filters aside

    @property
    def counts_key(self) -> str:
        """What the counts' HTML depends on besides its address: the language and every count (the
        page keeps the drawn counts under it, in the `fragments` cache)."""
        return fragment_key([(row.administration.pk, row.administration.name, row.cells()) for row in self.counts])


# --- reading the open items ---


def visible_administrations(user) -> list[Administration]:
    """The administrations `user` may see, read once (their ids then go to each query as a list,
    as invoicing.selectors.visible_invoices does, for the planner's sake)."""
    return list(Administration.objects.visible_to(user).only("name", "company_number", "office_id").order_by("name"))


def _of_companies(queryset, path: str, ids):
    """`queryset` narrowed to the administrations `ids` through `path`, written (`+ 0`) so that the
    database cannot walk an index on it: the open rows come from the index of their state, and a
    company's every document or invoice is never read to find its few open ones."""
    return queryset.alias(company=F(path) + 0).filter(company__in=ids)


# What the queue reads of a submission and its invoice: its urgency, filters, counts, row and reason.
# The rest (the body, the parties, the payment terms: some 70 columns) was a third of building the
# queue, in SQL compiled and in values converted.
SUBMISSION_READ = (
    "invoice_id",
    "state",
    "clearance_status",
    "terminal",
    "reason_code",
    "reason_params",
    "error",
    "mc_deadline",
    "status_since",
    "updated_at",
    "rejected_at",
    "duplicate",
    "adopted_at",
)
INVOICE_READ = ("administration_id", "invoice_number", "country", "status", "assignee")


def _submissions_read(queryset, path: str = "", *fields: str):
    """`queryset` reading only `fields` and what the queue shows of the submissions (at `path`) and
    their invoices, with each invoice's assignee."""
    prefix = f"{path}__" if path else ""
    fields += tuple(prefix + name for name in SUBMISSION_READ)
    fields += tuple(f"{prefix}invoice__{name}" for name in INVOICE_READ)
    return queryset.select_related(f"{prefix}invoice__assignee__membership").only(*fields)


def _stale(ids) -> list[QueueItem]:
    """UNDELIVERED and STUCK: an alert for the status the submission is in now, raised in this stay
    in the status (an alert from before a retry or a status change does not count)."""
    # The open submissions first (submission_stale_idx, submission_unsent_idx), then their alerts
    # (by submission): the alerts of submissions settled long ago are never read. Their conditions
    # are on the joined submission, not a subquery of it: PostgreSQL planned the subquery's extra
    # join for longer (6.5 ms) than the whole page's queries take to run.
    open_submission = Q(
        submission__state=State.SENT,
        submission__terminal=False,
        submission__clearance_status__in=[Clearance.PENDING, Clearance.UNDELIVERED],
    ) | Q(submission__state__in=UNSENT)
    alerts = (
        _of_companies(
            _submissions_read(StatusAlert.objects.all(), "submission", "status", "level", "limit", "since"),
            "submission__invoice__administration_id",
            ids,
        )
        .filter(open_submission)
        .filter(
            Q(submission__state=State.SENT, status=F("submission__clearance_status"))
            | Q(submission__state__in=UNSENT, status=StatusLimit.Status.SUBMITTING)
        )
        .filter(
            Q(since__isnull=True)
            | Q(submission__status_since__isnull=True)
            | Q(since__gte=F("submission__status_since"))
        )
        .order_by()
    )
    found = {}
    for alert in sorted(alerts, key=lambda alert: -alert.level):
        if alert.submission_id in found:
            continue  # its higher level came first
        submission = alert.submission
        undelivered = alert.status == StatusLimit.Status.UNDELIVERED
        found[alert.submission_id] = QueueItem(
            problem=Problem.UNDELIVERED if undelivered else Problem.STUCK,
            administration=None,
            key=f"invoice:{submission.invoice_id}",
            invoice=submission.invoice,
            submission=submission,
            since=alert.since or submission.status_since,
            due=submission.mc_deadline if undelivered else None,
            reason=_undelivered_reason(submission) if undelivered else _stuck_reason(alert),
        )
    return list(found.values())


def _past_deadline(ids) -> list[QueueItem]:
    """UNDELIVERED past the deadline (the poller stopped asking; a person must tell the buyer)."""
    submissions = (
        _submissions_read(Submission.objects.all())
        .filter(
            invoice__administration__in=ids,
            state=State.SENT,
            terminal=False,
            clearance_status=Clearance.UNDELIVERED,
            reason_code=UNDELIVERED_DEADLINE,
        )
        .order_by()
    )
    return [
        QueueItem(
            problem=Problem.UNDELIVERED,
            administration=None,
            key=f"invoice:{submission.invoice_id}",
            invoice=submission.invoice,
            submission=submission,
            since=submission.status_since or submission.updated_at,
            due=submission.mc_deadline,
            reason=_undelivered_reason(submission),
        )
        for submission in submissions
    ]


def _unsettled(ids) -> list[QueueItem]:
    """UNKNOWN (held) and REFUSED (refused or failed), when it is the invoice's latest submission."""
    newer = Submission.objects.filter(invoice=OuterRef("invoice"), pk__gt=OuterRef("pk"))
    submissions = (
        _submissions_read(Submission.objects.all())
        .filter(
            invoice__administration__in=ids,
            invoice__status__in=[Invoice.Status.DRAFT, Invoice.Status.SUBMITTING],
            state__in=[State.HELD, State.REFUSED, State.FAILED],
        )
        .filter(~Exists(newer))
        .order_by()
    )
    items = []
    for submission in submissions:
        held = submission.state == State.HELD
        items.append(
            QueueItem(
                problem=Problem.UNKNOWN if held else Problem.REFUSED,
                administration=None,
                key=f"invoice:{submission.invoice_id}",
                invoice=submission.invoice,
                submission=submission,
                since=submission.updated_at,
                reason=submission.reason_text or _first_explanation(submission),
            )
        )
    return items


def _turned_down(ids) -> list[QueueItem]:
    """DUPLICATE and REJECTED: the latest answered submission of each rejected or duplicate invoice."""
    submissions = (
        _submissions_read(Submission.objects.all())
        .filter(
            invoice__administration__in=ids,
            invoice__status__in=[Invoice.Status.REJECTED, Invoice.Status.DUPLICATE],
            state=State.SENT,
        )
        .order_by()
    )
    items = {}
    for submission in sorted(submissions, key=lambda submission: -submission.pk):
        if submission.invoice_id in items:
            continue  # an older submission of the same invoice
        invoice = submission.invoice
        if submission.adopted_at is not None:
            continue  # the earlier outcome stands (invoicing.duplicates)
        duplicate = bool(submission.duplicate) or invoice.status == Invoice.Status.DUPLICATE
        items[submission.invoice_id] = QueueItem(
            problem=Problem.DUPLICATE if duplicate else Problem.REJECTED,
            administration=None,
            key=f"invoice:{invoice.pk}",
            invoice=invoice,
            submission=submission,
            since=submission.rejected_at or submission.status_since or submission.updated_at,
            reason=_turned_down_reason(submission, duplicate=duplicate),
        )
    return list(items.values())


def _failed_filings(ids) -> list[QueueItem]:
    filings = (
        BookFiling.objects.filter(state=BookFiling.State.FAILED, invoice__administration__in=ids)
        .select_related("invoice__assignee__membership")
        .order_by()
    )
    return [
        QueueItem(
            problem=Problem.FILING,
            administration=None,
            key=f"invoice:{filing.invoice_id}",
            invoice=filing.invoice,
            filing=filing,
            since=filing.updated_at,
            reason=_filing_reason(filing),
        )
        for filing in filings
    ]


def _waiting_documents(ids) -> list[QueueItem]:
    """Documents held, failed or waiting for a sign-in: a filing's goes to its invoice (FILING)."""
    documents = (
        _of_companies(Document.objects.all(), "administration_id", ids)
        .filter(status__in=DOCUMENT_WAITS)
        .select_related("assignee__membership", "book_filing__invoice__assignee__membership")
        .order_by()
    )
    items = []
    for document in documents:
        filing = getattr(document, "book_filing", None)
        if filing is not None:
            items.append(
                QueueItem(
                    problem=Problem.FILING,
                    administration=None,
                    key=f"invoice:{filing.invoice_id}",
                    invoice=filing.invoice,
                    document=document,
                    filing=filing,
                    since=document.updated_at,
                    reason=document.reason_text or document.get_status_display(),
                )
            )
        else:
            items.append(
                QueueItem(
                    problem=Problem.DOCUMENT,
                    administration=None,
                    key=f"document:{document.pk}",
                    document=document,
                    since=document.updated_at,
                    reason=document.reason_text or document.get_status_display(),
                )
            )
    return items


READERS = [_stale, _past_deadline, _unsettled, _turned_down, _failed_filings, _waiting_documents]


def open_items(administrations: list[Administration]) -> list[QueueItem]:
    """Every open item of `administrations`, one per key (its most urgent problem), most urgent first."""
    by_pk = {administration.pk: administration for administration in administrations}
    ids = list(by_pk)
    if not ids:
        return []
    chosen: dict[str, QueueItem] = {}
    for reader in READERS:
        for item in reader(ids):
            owner = item.invoice if item.invoice is not None else item.document
            item.administration = by_pk[owner.administration_id]
            if item.key not in chosen or item.sort_key() < chosen[item.key].sort_key():
                chosen[item.key] = item
    return sorted(chosen.values(), key=QueueItem.sort_key)


def _matches(item: QueueItem, *, user, problem, administration, assignee, country) -> bool:
    if problem and item.problem != problem:
        return False
    if administration and item.administration.pk != int(administration):
        return False
    if country and item.country != country:
        return False
    if assignee == "me":
        return item.assignee_id == user.pk
    if assignee == "none":
        return item.assignee_id is None
    if assignee not in (None, ""):
        return item.assignee_id == int(assignee)
    return True


def _counts(items: list[QueueItem]) -> list[CompanyCounts]:
    per_company = defaultdict(Counter)
    companies = {}
    for item in items:
        per_company[item.administration.pk][item.problem] += 1
        companies[item.administration.pk] = item.administration
    rows = [CompanyCounts(companies[pk], dict(counts)) for pk, counts in per_company.items()]
    return sorted(rows, key=lambda row: (row.administration.name.lower(), row.administration.pk))


def queue_items(
    *,
    user,
    problem=None,
    administration=None,
    assignee=None,
    country=None,
    page=None,
    per_page: int = PAGE_SIZE,
    administrations: list[Administration] | None = None,
) -> QueuePage:
    """The queue `user` sees, narrowed by the filters that are set: page `page` of the matches (the
    first for anything but a number from 1 up, the last for one past the end), the most urgent first, with
    the number of every match and the counts per company (filters aside).

    `administration` is an administration's pk; `assignee` "me", "none" (nobody) or a user's pk.
    Its queries are the same in number whatever the number of invoices or items. `administrations`:
    those of `visible_administrations(user)`, when the caller read them already.
    """
    if administrations is None:
        administrations = visible_administrations(user)
    everything = open_items(administrations)
    wanted = [
        item
        for item in everything
        if _matches(item, user=user, problem=problem, administration=administration, assignee=assignee, country=country)
    ]
    # Django's get_page shows the last page for 0 or less: anything but a number from 1 up is the
    # first. A number longer than any page count is past the end (and beyond what int() takes).
    number = (int(page) if len(page) <= 18 else sys.maxsize) if is_number(page) else 1
    matches = Paginator(wanted, per_page).get_page(max(number, 1))
    return QueuePage(
        items=list(matches.object_list),
        total=len(wanted),
        matches=matches,
        administrations=administrations,
        counts=_counts(everything),
    )


def queue_counts(*, user) -> list[CompanyCounts]:
    """Per company `user` may see that has an open item: how many of each problem."""
    return _counts(open_items(visible_administrations(user)))


# --- why, in the reader's language ---


def _first_explanation(submission: Submission) -> str:
    explained = explanations.for_submission(submission)
    return str(explained[0].meaning) if explained else ""


def _undelivered_reason(submission: Submission) -> str:
    """One line (the invoice's page explains it at length): the deadline itself is in its own column."""
    if submission.reason_code == UNDELIVERED_DEADLINE:
        return _("Still not delivered after the deadline: tell the buyer by other means.")
    return _("Not delivered to the buyer yet: the SDI keeps trying until the deadline.")


def _stuck_reason(alert: StatusAlert) -> str:
    status = StatusLimit.Status(alert.status).label
    hours = alert.limit.total_seconds() / 3600
    if hours >= 1:
        limit = _("%(hours)s h") % {"hours": f"{hours:g}"}
    else:
        limit = _("%(minutes)s min") % {"minutes": f"{alert.limit.total_seconds() / 60:g}"}
    return _("%(status)s for longer than %(limit)s.") % {"status": status, "limit": limit}


def _turned_down_reason(submission: Submission, *, duplicate: bool) -> str:
    error = submission.error or {}
    said = " ".join(part for part in (error.get("source", ""), error.get("code", "")) if part)
    message = error.get("message", "")
    authority = f"{said}: {message}" if said and message else said or message
    if duplicate:
        match = submission.get_duplicate_display() if submission.duplicate else ""
        return " — ".join(str(part) for part in (match, authority) if part) or str(explanations.DUPLICATE.meaning)
    return authority or str(explanations.for_rejection(error).meaning)


def _filing_reason(filing: BookFiling) -> str:
    if filing.error == books.NOT_ALLOWED:
        return _("The person who submitted the invoice may no longer upload to this administration.")
    return filing.error or str(filing.get_state_display())
