"""Following submissions until the authority decides: claiming due ones in batches, storing events.

- `submissions_poll_due(*, batch=100) -> int`: claims sent, non-terminal submissions whose
  next_poll_at has come, polls each, returns how many it polled. Its cost follows the number due,
  not the number stored: the claim walks the partial index `submission_due_idx` in next_poll_at
  order.
- `submission_poll(submission) -> None`: one GET /invoices/status; stores new ClearanceEvents once,
  the status, terminal, clearedAt/rejectedAt/error/mcDeadline, next_poll_at from nextPollAfter
  (or Retry-After), and moves the invoice's status along (Invoice.Status mirrors clearance).
- `submissions_poll_resume(*, office) -> int`: polls again what a refused API key stopped.

Claiming is a lease: in one short transaction the due rows are selected (FOR UPDATE SKIP LOCKED
on PostgreSQL, so concurrent pollers take different rows; SQLite's IMMEDIATE transactions
serialise claimers instead) and their next_poll_at is pushed CLAIM_LEASE ahead, so no other poller
sees them due while this one works. Polling happens after that commit: no transaction is held
across an HTTP call (the embedded sandbox answers from the same database). A poller that dies
simply lets the lease run out, and the submissions are due again.

The status checks of a batch go out back to back from a reader thread of its own (READ_AHEAD),
one at a time, while the poller's thread writes the answers that came back: a check waits for
Clearvo alone, never for the database (bench/poller.py, docs/performance.md). The reader touches
no database; everything it needs (the submission, its events, the office's client) is loaded
before. The reads are written together, every FLUSH_EVERY polls or FLUSH_SECONDS, in one
transaction of a few queries: the exchanges, the new events (stored once: unique on submission,
status and time), each submission's status, details and next check, the invoices' mirrored status
and an Activity row for each status that moved. A crash loses at most the reads not yet written;
their submissions are polled again when the lease runs out, and Clearvo answers with the same
events.
"""

import functools
import logging
import random
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from clearfacts_app.models import Activity
from invoicing import books, clearvo, duplicates, notifications
from invoicing.models import ClearanceEvent, Exchange, Invoice, Submission
from portal.http import ExternalSession

logger = logging.getLogger(__name__)

BATCH = 100
# How long one run of the periodic task goes on claiming batches (it runs every few seconds).
TIME_BUDGET_SECONDS = 15.0
# A claimed submission is due again after this if its poller never wrote back (it died).
CLAIM_LEASE = timedelta(minutes=5)
# A batch stops polling this long before its lease runs out; the rest become due again.
LEASE_MARGIN = timedelta(seconds=30)
# Never ask about one submission again sooner than this, whatever nextPollAfter says: Clearvo
# rounds nextPollAfter to whole seconds, and polling before it is what its rate limiting punishes.
POLL_FLOOR = timedelta(seconds=1)
# When Clearvo gives no nextPollAfter for a non-terminal status: the spec's cadences.
DEFAULT_CADENCE = {"PL": timedelta(seconds=60)}
DEFAULT_CADENCE_ELSEWHERE = timedelta(minutes=5)
# After a failed status check without Retry-After: doubling from RETRY_DELAY up to RETRY_DELAY_MAX.
RETRY_DELAY = timedelta(seconds=30)
RETRY_DELAY_MAX = timedelta(minutes=30)
# This many transport failures in a row and the rest of the batch waits (Clearvo is down).
FAILURES_BEFORE_PAUSE = 3
# Reads are written together every FLUSH_EVERY polls or FLUSH_SECONDS, whichever comes first.
FLUSH_EVERY = 100
FLUSH_SECONDS = 1.0
# The status checks of a batch go out from a thread of their own while the poller's thread writes
# (a check then waits for Clearvo alone); False makes them between the writes, in the poller's thread.
READ_AHEAD = True
READER_SWITCH_INTERVAL = 0.0005  # seconds
# UNDELIVERED is asked about once more this long after its mcDeadline before a person is asked.
DEADLINE_GRACE = timedelta(seconds=2)

Status = Submission.ClearanceStatus
TERMINAL = {Status.ACCEPTED, Status.REJECTED, Status.DUPLICATE}
INVOICE_STATUS = {
    Status.PENDING: Invoice.Status.PENDING,
    Status.ACCEPTED: Invoice.Status.ACCEPTED,
    Status.REJECTED: Invoice.Status.REJECTED,
    Status.DUPLICATE: Invoice.Status.DUPLICATE,
    Status.UNDELIVERED: Invoice.Status.UNDELIVERED,
}
# The statuses whose arrival is told to the people concerned (invoicing.notifications).
NOTIFIED = TERMINAL | {Status.UNDELIVERED}
ACTIVITY = {
    Status.PENDING: "invoice.clearance_pending",
    Status.ACCEPTED: "invoice.cleared",
    Status.REJECTED: "invoice.rejected",
    Status.DUPLICATE: "invoice.duplicate",
    Status.UNDELIVERED: "invoice.undelivered",
}


class Reason:
    """The submission's reason_code while the poller waits or has stopped (translated when shown)."""

    # The status checks keep failing; reason_params: failures, error, status_code. Cleared by the next answer.
    CHECK_FAILING = "status-check-failing"
    # Clearvo refused the API key (401) or none is configured: the office administrator must fix it.
    KEY_REFUSED = "clearvo-key-refused"
    NOT_CONFIGURED = "clearvo-not-configured"
    # Still UNDELIVERED after its mcDeadline: notify the buyer by other means (the spec's advice).
    UNDELIVERED_DEADLINE = "undelivered-deadline"


OWN_REASONS = {Reason.CHECK_FAILING, Reason.KEY_REFUSED, Reason.NOT_CONFIGURED, Reason.UNDELIVERED_DEADLINE}
STOPPED_BY_KEY = {Reason.KEY_REFUSED, Reason.NOT_CONFIGURED}


def now() -> datetime:
    """The poller's clock (one place, so a test can put it past an mcDeadline that Clearvo still reports)."""
    return timezone.now()


_local = threading.local()


def _session() -> ExternalSession:
    """One HTTP session per thread, kept between polls, so connections to Clearvo are reused."""
    if getattr(_local, "session", None) is None:
        _local.session = ExternalSession()
    return _local.session


def _lease_until(moment: datetime) -> datetime:
    # Plus a few random microseconds: a value this claim alone writes (see submissions_claim_due).
    return moment + CLAIM_LEASE + timedelta(microseconds=random.randrange(1, 1000))  # noqa: S311


def _due(moment: datetime):
    # The filter matches submission_due_idx's condition (state sent, not terminal) so the index serves it.
    return Submission.objects.filter(state=Submission.State.SENT, terminal=False, next_poll_at__lte=moment)


def submissions_claim_due(*, batch: int = BATCH) -> tuple[list[int], datetime]:
    """Claims up to `batch` due submissions, oldest due first; returns their ids and the lease's end."""
    moment = now()
    lease_until = _lease_until(moment)
    if not _due(moment).exists():
        return [], lease_until  # the common case, every few seconds: no write lock taken (SQLite)
    with transaction.atomic():
        due = _due(moment).order_by("next_poll_at")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:batch])
        if not ids:
            return [], lease_until
        claimed = _due(moment).filter(pk__in=ids).update(next_poll_at=lease_until)
        if claimed != len(ids):
            # Another claimer got some in between (a database without row locks or IMMEDIATE
            # transactions): keep only the rows that carry this claim's lease.
            ids = list(Submission.objects.filter(pk__in=ids, next_poll_at=lease_until).values_list("pk", flat=True))
    return ids, lease_until


def submissions_poll_due(*, batch: int = BATCH) -> int:
    """Claims due submissions (at most `batch`), polls each outside the claim, returns how many it polled."""
    ids, lease_until = submissions_claim_due(batch=batch)
    if not ids:
        return 0
    submissions = list(
        Submission.objects.filter(pk__in=ids)
        .select_related("invoice__administration__office")
        .prefetch_related("events")
        .order_by("next_poll_at", "pk")
    )
    poller = _Poller(lease_until=lease_until)
    for submission in submissions:
        poller.client(submission.invoice.administration.office)  # the key is read here, not in the reader
    try:
        for read in _reads(poller, submissions):
            poller.record(read)
    finally:
        poller.flush()
    # What was not polled (the lease was running out, or Clearvo is down) waits for another round.
    poller.give_back([s for s in submissions if s.pk not in poller.polled])
    return len(poller.polled)


def submission_poll(submission: Submission) -> None:
    """Polls one sent submission now, claimed or not (a person's "check now", or after a terminal POST)."""
    submission = (
        Submission.objects.select_related("invoice__administration__office")
        .prefetch_related("events")
        .get(pk=submission.pk)
    )
    if submission.state != Submission.State.SENT or not submission.reference_id:
        return
    poller = _Poller(lease_until=None)
    poller.record(poller.read(submission))
    poller.flush()


def _reads(poller: "_Poller", submissions: list[Submission]):
    """The batch's reads in order, each check sent as soon as the one before is answered.

    One request in flight at a time, as in the poller's thread; what the reads wait for is
    Clearvo, while the caller writes the answers already in.
    """
    if not READ_AHEAD:
        for submission in submissions:
            if poller.must_stop():
                return
            yield poller.read(submission)
        return

    def read_unless_stopped(submission: Submission) -> "_Read | None":
        return None if poller.must_stop() else poller.read(submission)

    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poll-reader")
    # The reader must get the interpreter back as soon as its answer arrives: at the default 5 ms
    # switch interval the writing thread would hold it for a third of a check's round trip.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(READER_SWITCH_INTERVAL)
    try:
        for pending in [reader.submit(read_unless_stopped, submission) for submission in submissions]:
            read = pending.result()
            if read is None:
                return
            yield read
    finally:
        reader.shutdown(cancel_futures=True)
        sys.setswitchinterval(switch_interval)


def submissions_poll_resume(*, office) -> int:
    """Makes due again the office's submissions whose polling stopped on its API key (after the key is fixed)."""
    return Submission.objects.filter(
        state=Submission.State.SENT,
        terminal=False,
        reason_code__in=STOPPED_BY_KEY,
        invoice__administration__office=office,
    ).update(next_poll_at=now(), reason_code="", reason_params={}, updated_at=timezone.now())


class Kind:
    QUIET = "quiet"  # the same status, nothing new: only the next check changes
    CHANGE = "change"  # a new event, another status or detail, a passed deadline
    FAILURE = "failure"  # no usable answer: try again later
    STOP = "stop"  # the key is refused: no more checks until someone fixes it


@dataclass
class _Read:
    """One status check's outcome, held until the poller writes its reads together."""

    submission: Submission
    exchanges: list[dict]
    kind: str
    answer: clearvo.StatusAnswer | None = None
    next_poll_at: datetime | None = None
    past_deadline: bool = False
    error: clearvo.ClearvoError | None = None
    reason: str = ""


@dataclass
class _Poller:
    lease_until: datetime | None
    polled: set[int] = field(default_factory=set)
    reads: list[_Read] = field(default_factory=list)
    clients: dict = field(default_factory=dict)
    failures_in_a_row: int = 0
    flushed: float = field(default_factory=time.monotonic)

    def must_stop(self) -> bool:
        if self.failures_in_a_row >= FAILURES_BEFORE_PAUSE:
            return True
        if self.lease_until is None:
            return False
        return now() >= self.lease_until - LEASE_MARGIN

    def client(self, office) -> clearvo.Clearvo:
        if office.pk not in self.clients:
            client = clearvo.client_for(office)
            client.session = _session()
            self.clients[office.pk] = client
        return self.clients[office.pk]

    def record(self, read: "_Read") -> None:
        self.polled.add(read.submission.pk)
        self.reads.append(read)
        if len(self.reads) >= FLUSH_EVERY or time.monotonic() - self.flushed >= FLUSH_SECONDS:
            self.flush()

    def read(self, submission: Submission) -> _Read:
        invoice = submission.invoice
        exchanges: list[dict] = []
        try:
            client = self.client(invoice.administration.office)
            answer = client.status(
                country=invoice.country, reference_id=submission.reference_id, record=exchanges.append
            )
        except clearvo.NotConfigured as error:
            return _Read(submission, exchanges, Kind.STOP, error=error, reason=Reason.NOT_CONFIGURED)
        except clearvo.NotAuthorized as error:
            return _Read(submission, exchanges, Kind.STOP, error=error, reason=Reason.KEY_REFUSED)
        except clearvo.ClearvoError as error:
            # Unavailable, AnswerInvalid (reading again is harmless) and anything unexpected: try later.
            if isinstance(error, clearvo.Unavailable) and error.status_code != 429:
                self.failures_in_a_row += 1  # Clearvo itself looks down, not this one invoice rate limited
            log = logger.warning if isinstance(error, clearvo.AnswerInvalid) else logger.info
            log("status check of submission %s failed (%s): %s", submission.pk, type(error).__name__, error)
            return _Read(submission, exchanges, Kind.FAILURE, error=error)
        self.failures_in_a_row = 0
        return _answered(submission, answer, exchanges)

    def flush(self) -> None:
        """Writes the reads so far."""
        reads, self.reads, self.flushed = self.reads, [], time.monotonic()
        if reads:
            _write(reads)

    def give_back(self, submissions: list[Submission]) -> None:
        """Claimed but not polled: due again soon (at once unless Clearvo looked down)."""
        if not submissions or self.lease_until is None:
            return
        delay = RETRY_DELAY if self.failures_in_a_row >= FAILURES_BEFORE_PAUSE else timedelta(0)
        Submission.objects.filter(pk__in=[s.pk for s in submissions], next_poll_at=self.lease_until).update(
            next_poll_at=now() + delay
        )


def _write(reads: list[_Read]) -> None:
    """One transaction for a flush's reads: a few queries, however many reads."""
    with transaction.atomic():
        Exchange.objects.bulk_create([_exchange(read.submission, data) for read in reads for data in read.exchanges])
        _write_quiet([read for read in reads if read.kind == Kind.QUIET])
        _write_changes([read for read in reads if read.kind != Kind.QUIET])


def _exchange(submission: Submission, data: dict) -> Exchange:
    data = dict(data)
    if data.get("path") == "/invoices/status":
        data["path"] += "?" + urlencode({"country": submission.invoice.country, "id": submission.reference_id})
    return Exchange(submission=submission, **data)


def _next_poll(submission: Submission, answer: clearvo.StatusAnswer, moment: datetime) -> datetime | None:
    if answer.terminal:
        return None
    cadence = DEFAULT_CADENCE.get(submission.invoice.country, DEFAULT_CADENCE_ELSEWHERE)
    wanted = answer.next_poll_after or moment + cadence
    if answer.clearance_status == Status.UNDELIVERED and answer.mc_deadline:
        # Asked once more just past the deadline: the last word before a person takes over.
        wanted = min(wanted, answer.mc_deadline + DEADLINE_GRACE)
    return max(wanted, moment + POLL_FLOOR)


def _answered(submission: Submission, answer: clearvo.StatusAnswer, exchanges: list[dict]) -> _Read:
    moment = now()
    known = {(event.status, event.at) for event in submission.events.all()}
    past_deadline = (
        answer.clearance_status == Status.UNDELIVERED
        and not answer.terminal
        and answer.mc_deadline is not None
        and moment >= answer.mc_deadline
    )
    changed = (
        past_deadline
        or any((event.status, event.at) not in known for event in answer.events)
        or submission.reason_code in OWN_REASONS
        or submission.clearance_status != answer.clearance_status
        or submission.terminal != answer.terminal
        or submission.cleared_at != answer.cleared_at
        or submission.rejected_at != answer.rejected_at
        or submission.mc_deadline != answer.mc_deadline
        or submission.error != answer.error
    )
    return _Read(
        submission,
        exchanges,
        Kind.CHANGE if changed else Kind.QUIET,
        answer=answer,
        next_poll_at=None if past_deadline else _next_poll(submission, answer, moment),
        past_deadline=past_deadline,
    )


def _write_quiet(reads: list[_Read]) -> None:
    """Nothing new: the next check and the poll count, one UPDATE per distinct next check.

    nextPollAfter comes in whole seconds, so the reads of a flush share a handful of values; an
    UPDATE for each is far cheaper than one CASE with a branch per row (Django builds each branch
    as a filter).
    """
    groups = defaultdict(list)
    for read in reads:
        groups[read.next_poll_at].append(read.submission.pk)
    stamp = timezone.now()
    for next_poll_at, ids in groups.items():
        Submission.objects.filter(pk__in=ids).update(next_poll_at=next_poll_at, polls=F("polls") + 1, updated_at=stamp)


# What a change may write on a submission.
CHANGED_FIELDS = [
    "clearance_status",
    "terminal",
    "cleared_at",
    "rejected_at",
    "error",
    "mc_deadline",
    "next_poll_at",
    "polls",
    "reason_code",
    "reason_params",
    "status_since",
    "updated_at",
]


def _write_changes(reads: list[_Read]) -> None:
    """Changes, failures and stops, under the rows' locks, read again: a person may have acted meanwhile."""
    if not reads:
        return
    stamp = timezone.now()
    current = {
        row["pk"]: row
        for row in Submission.objects.select_for_update()
        .filter(pk__in=[read.submission.pk for read in reads])
        .values("pk", "state", *CHANGED_FIELDS)
    }
    rows, events, invoices, activities, notify, accepted = [], [], [], [], [], []
    for read in reads:
        row = current.get(read.submission.pk)
        if row is None or row["state"] != Submission.State.SENT:
            continue  # cancelled or released meanwhile: the exchange is kept, nothing else changes
        values = {name: row[name] for name in CHANGED_FIELDS} | {"polls": row["polls"] + 1, "updated_at": stamp}
        if read.kind == Kind.FAILURE:
            if row["terminal"]:
                continue  # a terminal one read again on request: nothing to retry
            values |= _failure(read, row)
        elif read.kind == Kind.STOP:
            if row["terminal"]:
                continue
            values |= {
                "next_poll_at": None,
                "reason_code": read.reason,
                "reason_params": {"status_code": read.error.status_code},
            }
            if row["reason_code"] != read.reason:
                activities.append(_activity(read, "invoice.status_checks_stopped", {"reason": read.reason}))
        else:
            answer = read.answer
            events += [
                ClearanceEvent(submission=read.submission, status=e.status, at=e.at, message=e.message, extra=e.extra)
                for e in answer.events
            ]
            if row["terminal"] and not answer.terminal:
                # A terminal status does not change again; an answer saying otherwise is not believed.
                logger.warning("submission %s: Clearvo reports %s after terminal", read.submission.pk, answer)
                continue
            moved = row["clearance_status"] != answer.clearance_status
            if moved:
                values["status_since"] = stamp
            values |= {
                "clearance_status": answer.clearance_status,
                "terminal": answer.terminal,
                "cleared_at": answer.cleared_at,
                "rejected_at": answer.rejected_at,
                "error": answer.error,
                "mc_deadline": answer.mc_deadline,
                "next_poll_at": read.next_poll_at,
            }
            if row["reason_code"] in OWN_REASONS:
                values |= {"reason_code": "", "reason_params": {}}
            if read.past_deadline:
                values |= {
                    "reason_code": Reason.UNDELIVERED_DEADLINE,
                    "reason_params": {"mc_deadline": answer.mc_deadline.isoformat()},
                }
            invoice = read.submission.invoice
            if invoice.status != INVOICE_STATUS[answer.clearance_status]:
                invoices.append(
                    Invoice(pk=invoice.pk, status=INVOICE_STATUS[answer.clearance_status], updated_at=stamp)
                )
            if answer.clearance_status == Status.ACCEPTED and (moved or invoice.status != Invoice.Status.ACCEPTED):
                accepted.append(invoice.pk)
            data = _activity_data(read.submission, answer)
            if moved:
                moves = {"clearance_status": [row["clearance_status"], answer.clearance_status]}
                if invoice.status != INVOICE_STATUS[answer.clearance_status]:
                    moves["status"] = [invoice.status, INVOICE_STATUS[answer.clearance_status]]
                activities.append(_activity(read, ACTIVITY[answer.clearance_status], data, moves))
            if read.past_deadline and row["reason_code"] != Reason.UNDELIVERED_DEADLINE:
                activities.append(_activity(read, "invoice.undelivered_deadline", data))
            if (moved and answer.clearance_status in NOTIFIED) or (
                read.past_deadline and row["reason_code"] != Reason.UNDELIVERED_DEADLINE
            ):
                notify.append(read.submission.pk)
        rows.append((read.submission.pk, {name: value for name, value in values.items() if value != row[name]}))
    ClearanceEvent.objects.bulk_create(events, ignore_conflicts=True)  # stored once: (submission, status, at)
    # One UPDATE per changed row, of what changed: cheaper than bulk_update's CASE per field and row.
    for pk, values in rows:
        Submission.objects.filter(pk=pk).update(**values)
    # Moved to a duplicate answer: what the portal sent under the number (only these pay for it).
    duplicates.submissions_reconcile(
        [pk for pk, moved in rows if duplicates.is_duplicate_answer(moved.get("clearance_status"), moved.get("error"))]
    )
    statuses = defaultdict(list)
    for invoice in invoices:
        statuses[invoice.status].append(invoice.pk)
    for status, ids in statuses.items():
        Invoice.objects.filter(pk__in=ids).update(status=status, updated_at=stamp)
    _activities_record(activities)
    if accepted:
        books.book_filings_request(accepted)  # in this transaction: one filing per invoice, written with ACCEPTED
    if notify:
        transaction.on_commit(functools.partial(notifications.submissions_outcome_notify, notify))


def _failure(read: _Read, row: dict) -> dict:
    """A status check that brought no usable answer: nothing changes but when to try again."""
    error = read.error
    failures = 1 + (int(row["reason_params"].get("failures", 0)) if row["reason_code"] == Reason.CHECK_FAILING else 0)
    if error.retry_after is not None:
        delay = max(timedelta(seconds=error.retry_after), POLL_FLOOR)
    else:
        delay = min(RETRY_DELAY * 2 ** min(failures - 1, 16), RETRY_DELAY_MAX)
    return {
        "next_poll_at": now() + delay,
        "reason_code": Reason.CHECK_FAILING,
        "reason_params": {"failures": failures, "error": type(error).__name__, "status_code": error.status_code},
    }


def _activity(read: _Read, action: str, data: dict, changes: dict | None = None) -> Activity:
    invoice = read.submission.invoice
    data = {"invoice": invoice.pk, "invoice_number": invoice.invoice_number, "submission": read.submission.pk} | data
    return Activity(
        office_id=invoice.administration.office_id,
        administration_id=invoice.administration_id,
        actor=None,
        action=action,
        data=data,
        changes=changes or {},
    )


def _activities_record(activities: list[Activity]) -> None:
    """The rows clearfacts_app.activity.activity_record writes, for a flush's changes at once, in its transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("activity rows must be written in the transaction of the change they record")
    Activity.objects.bulk_create(activities)


def _activity_data(submission: Submission, answer: clearvo.StatusAnswer) -> dict:
    data = {"reference_id": submission.reference_id, "status": answer.clearance_status}
    if answer.error:
        data |= {"source": answer.error.get("source", ""), "code": answer.error.get("code", "")}
    if answer.mc_deadline:
        data["mc_deadline"] = answer.mc_deadline.isoformat()
    ksef_number = next((e.extra["kSeFNumber"] for e in answer.events if e.extra.get("kSeFNumber")), None)
    if ksef_number:
        data["ksef_number"] = ksef_number
    return data
