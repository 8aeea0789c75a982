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

A poll that changes something (a new event, another status, the authority's error, a stop) is
written at once, in one transaction with an Activity row when the status moved. A poll that only
says "still the same, ask again at nextPollAfter" is the common case; those are written together
at the end of the batch (two queries for the whole batch), which is what lets the poller keep up
with Clearvo. A crash loses at most those uneventful reads, and their submissions are polled again.
"""

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from clearfacts_app.activity import activity_record
from invoicing import clearvo, notifications
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
    # Whole milliseconds plus a random microsecond part: a value this claim alone is likely to write.
    return moment + CLAIM_LEASE + timedelta(microseconds=random.randrange(1, 1000))  # noqa: S311


def _due(moment: datetime):
    # The filter matches submission_due_idx's condition (state sent, not terminal) so the index serves it.
    return Submission.objects.filter(state=Submission.State.SENT, terminal=False, next_poll_at__lte=moment)


def submissions_claim_due(*, batch: int = BATCH) -> tuple[list[int], datetime]:
    """Claims up to `batch` due submissions, oldest due first; returns their ids and the lease's end."""
    moment = now()
    lease_until = _lease_until(moment)
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
    try:
        for submission in submissions:
            if poller.must_stop():
                break
            poller.poll(submission)
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
    try:
        poller.poll(submission)
    finally:
        poller.flush()


def submissions_poll_resume(*, office) -> int:
    """Makes due again the office's submissions whose polling stopped on its API key (after the key is fixed)."""
    return Submission.objects.filter(
        state=Submission.State.SENT,
        terminal=False,
        reason_code__in=STOPPED_BY_KEY,
        invoice__administration__office=office,
    ).update(next_poll_at=now(), reason_code="", reason_params={}, updated_at=timezone.now())


@dataclass
class _Quiet:
    """A poll that changed nothing but the next check: written with the rest of the batch."""

    submission: Submission
    next_poll_at: datetime
    exchanges: list[dict]


@dataclass
class _Poller:
    lease_until: datetime | None
    polled: set[int] = field(default_factory=set)
    quiet: list[_Quiet] = field(default_factory=list)
    clients: dict = field(default_factory=dict)
    failures_in_a_row: int = 0
    started: float = field(default_factory=time.monotonic)

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

    def poll(self, submission: Submission) -> None:
        invoice = submission.invoice
        exchanges: list[dict] = []
        self.polled.add(submission.pk)
        try:
            client = self.client(invoice.administration.office)
            answer = client.status(
                country=invoice.country, reference_id=submission.reference_id, record=exchanges.append
            )
        except clearvo.NotConfigured as error:
            _stop(submission, exchanges, reason=Reason.NOT_CONFIGURED, error=error)
            return
        except clearvo.NotAuthorized as error:
            _stop(submission, exchanges, reason=Reason.KEY_REFUSED, error=error)
            return
        except clearvo.ClearvoError as error:
            # Unavailable, AnswerInvalid (reading again is harmless) and anything unexpected: try later.
            if isinstance(error, clearvo.Unavailable) and error.status_code != 429:
                self.failures_in_a_row += 1  # Clearvo itself looks down, not this one invoice rate limited
            _failed(submission, exchanges, error=error)
            return
        self.failures_in_a_row = 0
        _answered(submission, answer, exchanges, quiet=self.quiet)

    def flush(self) -> None:
        """Writes the batch's uneventful polls: their exchanges, the next check and the poll count."""
        if not self.quiet:
            return
        stamp = timezone.now()
        with transaction.atomic():
            Exchange.objects.bulk_create(
                [_exchange(item.submission, data) for item in self.quiet for data in item.exchanges]
            )
            Submission.objects.filter(pk__in=[item.submission.pk for item in self.quiet]).update(
                # Cast: a CASE of NULLs alone (terminal answers) has no type in PostgreSQL.
                next_poll_at=Cast(
                    Case(*(When(pk=item.submission.pk, then=Value(item.next_poll_at)) for item in self.quiet)),
                    DateTimeField(),
                ),
                polls=F("polls") + 1,
                updated_at=stamp,
            )
        self.quiet.clear()

    def give_back(self, submissions: list[Submission]) -> None:
        """Claimed but not polled: due again soon (at once unless Clearvo looked down)."""
        if not submissions or self.lease_until is None:
            return
        delay = RETRY_DELAY if self.failures_in_a_row >= FAILURES_BEFORE_PAUSE else timedelta(0)
        Submission.objects.filter(pk__in=[s.pk for s in submissions], next_poll_at=self.lease_until).update(
            next_poll_at=now() + delay
        )


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


def _answered(submission: Submission, answer: clearvo.StatusAnswer, exchanges: list[dict], *, quiet: list) -> None:
    moment = now()
    known = {(event.status, event.at) for event in submission.events.all()}
    new_events = [event for event in answer.events if (event.status, event.at) not in known]
    past_deadline = (
        answer.clearance_status == Status.UNDELIVERED
        and not answer.terminal
        and answer.mc_deadline is not None
        and moment >= answer.mc_deadline
    )
    changed = (
        new_events
        or past_deadline
        or submission.reason_code in OWN_REASONS
        or submission.clearance_status != answer.clearance_status
        or submission.terminal != answer.terminal
        or submission.cleared_at != answer.cleared_at
        or submission.rejected_at != answer.rejected_at
        or submission.mc_deadline != answer.mc_deadline
        or submission.error != answer.error
    )
    next_poll_at = None if past_deadline else _next_poll(submission, answer, moment)
    if not changed:
        quiet.append(_Quiet(submission, next_poll_at, exchanges))
        return
    _write_change(submission, answer, exchanges, next_poll_at=next_poll_at, past_deadline=past_deadline)


def _write_change(
    submission: Submission,
    answer: clearvo.StatusAnswer,
    exchanges: list[dict],
    *,
    next_poll_at: datetime | None,
    past_deadline: bool,
) -> None:
    invoice = submission.invoice
    with transaction.atomic():
        current = (
            Submission.objects.select_for_update()
            .filter(pk=submission.pk)
            .values("state", "clearance_status", "terminal", "reason_code")
            .first()
        )
        Exchange.objects.bulk_create([_exchange(submission, data) for data in exchanges])
        if current is None or current["state"] != Submission.State.SENT:
            return  # a person cancelled or released it meanwhile: keep the record, change nothing
        ClearanceEvent.objects.bulk_create(
            [
                ClearanceEvent(submission=submission, status=e.status, at=e.at, message=e.message, extra=e.extra)
                for e in answer.events
            ],
            ignore_conflicts=True,  # stored once: (submission, status, at) is unique
        )
        was, was_terminal = current["clearance_status"], current["terminal"]
        if was_terminal and not answer.terminal:
            # A terminal status does not change again; an answer saying otherwise is not believed.
            logger.warning("submission %s: Clearvo reports %s after terminal %s", submission.pk, answer, was)
            return
        moved = was != answer.clearance_status
        reason = {"reason_code": "", "reason_params": {}} if current["reason_code"] in OWN_REASONS else {}
        if past_deadline:
            reason = {
                "reason_code": Reason.UNDELIVERED_DEADLINE,
                "reason_params": {"mc_deadline": answer.mc_deadline.isoformat()},
            }
        stamp = timezone.now()
        Submission.objects.filter(pk=submission.pk).update(
            clearance_status=answer.clearance_status,
            terminal=answer.terminal,
            cleared_at=answer.cleared_at,
            rejected_at=answer.rejected_at,
            error=answer.error,
            mc_deadline=answer.mc_deadline,
            next_poll_at=next_poll_at,
            polls=F("polls") + 1,
            updated_at=stamp,
            **reason,
        )
        invoice_status = INVOICE_STATUS[answer.clearance_status]
        if invoice.status != invoice_status:
            Invoice.objects.filter(pk=invoice.pk).update(status=invoice_status, updated_at=stamp)
        data = _activity_data(submission, answer)
        if moved:
            activity_record(
                administration=invoice.administration,
                actor=None,
                action=ACTIVITY[answer.clearance_status],
                data=data,
            )
        if past_deadline and current["reason_code"] != Reason.UNDELIVERED_DEADLINE:
            activity_record(
                administration=invoice.administration, actor=None, action="invoice.undelivered_deadline", data=data
            )
        if (moved and (answer.terminal or answer.clearance_status == Status.UNDELIVERED)) or past_deadline:
            transaction.on_commit(lambda: notifications.submission_outcome_notify(submission.pk))


def _activity_data(submission: Submission, answer: clearvo.StatusAnswer) -> dict:
    data = {
        "invoice": submission.invoice_id,
        "invoice_number": submission.invoice.invoice_number,
        "submission": submission.pk,
        "reference_id": submission.reference_id,
        "status": answer.clearance_status,
    }
    if answer.error:
        data |= {"source": answer.error.get("source", ""), "code": answer.error.get("code", "")}
    if answer.mc_deadline:
        data["mc_deadline"] = answer.mc_deadline.isoformat()
    ksef_number = next((e.extra["kSeFNumber"] for e in answer.events if e.extra.get("kSeFNumber")), None)
    if ksef_number:
        data["ksef_number"] = ksef_number
    return data


def _failed(submission: Submission, exchanges: list[dict], *, error: clearvo.ClearvoError) -> None:
    """A status check that brought no usable answer: nothing changes but when to try again."""
    failures = 1
    if submission.reason_code == Reason.CHECK_FAILING:
        failures += int(submission.reason_params.get("failures", 0))
    if error.retry_after is not None:
        delay = max(timedelta(seconds=error.retry_after), POLL_FLOOR)
    else:
        delay = min(RETRY_DELAY * 2 ** min(failures - 1, 16), RETRY_DELAY_MAX)
    log = logger.warning if isinstance(error, clearvo.AnswerInvalid) else logger.info
    log("status check of submission %s failed (%s): %s", submission.pk, type(error).__name__, error)
    with transaction.atomic():
        Exchange.objects.bulk_create([_exchange(submission, data) for data in exchanges])
        Submission.objects.filter(pk=submission.pk, state=Submission.State.SENT, terminal=False).update(
            next_poll_at=now() + delay,
            polls=F("polls") + 1,
            reason_code=Reason.CHECK_FAILING,
            reason_params={
                "failures": failures,
                "error": type(error).__name__,
                "status_code": error.status_code,
            },
            updated_at=timezone.now(),
        )


def _stop(submission: Submission, exchanges: list[dict], *, reason: str, error: clearvo.ClearvoError) -> None:
    """Clearvo will not answer with this office's key: no more polling until someone fixes it."""
    logger.warning("status checks of submission %s stopped: %s (%s)", submission.pk, reason, error)
    invoice = submission.invoice
    with transaction.atomic():
        Exchange.objects.bulk_create([_exchange(submission, data) for data in exchanges])
        stopped = Submission.objects.filter(pk=submission.pk, state=Submission.State.SENT, terminal=False).update(
            next_poll_at=None,
            polls=F("polls") + 1,
            reason_code=reason,
            reason_params={"status_code": error.status_code},
            updated_at=timezone.now(),
        )
        if stopped and submission.reason_code != reason:
            activity_record(
                administration=invoice.administration,
                actor=None,
                action="invoice.status_checks_stopped",
                data={
                    "invoice": invoice.pk,
                    "invoice_number": invoice.invoice_number,
                    "submission": submission.pk,
                    "reason": reason,
                },
            )
