"""The stale-status watchdog: tells people when an invoice stays too long in a status.

Beat runs `stale_statuses_alert` every minute (invoicing.watchdog_tasks). The limits are the
platform's StatusLimit rows (docs/watchdog.md: the defaults and why); a country's own row wins
over the row for every country (""). Each limit has a first alert and, optionally, a second one:

- PENDING (and UNDELIVERED counted from the status): a followed submission (state sent, not
  terminal) whose `status_since` is at least the limit ago.
- UNDELIVERED counted from the deadline: at most the limit is left before mcDeadline (the second
  limit is the smaller one, nearer the deadline).
- SUBMITTING: a send Clearvo has not confirmed (queued, sending, retrying) for the limit.

Each alert is a StatusAlert row, unique per (submission, status, level): it is written, the
people notified and the audit row added in one transaction per submission, so when two runs meet
(two beat ticks, two workers) only the one whose row went in tells anyone. A submission that left
the status (terminal, moved on, held, released) matches no limit any more and gets nothing.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from clearfacts_app.activity import activity_record
from clearfacts_app.models import Notification
from clearfacts_app.notifications import notify
from invoicing.models import Approval, StatusAlert, StatusLimit, Submission

logger = logging.getLogger(__name__)

Status = StatusLimit.Status
State = Submission.State
# At most this many alerts a run; the rest are raised by the next runs (one a minute).
BATCH = 200
UNSENT = [State.QUEUED, State.SENDING, State.RETRYING]


@dataclass(frozen=True)
class _Level:
    limit: StatusLimit
    level: int
    after: timedelta


def stale_statuses_alert(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Raises the alerts due at `now` (default: now); returns how many this run raised."""
    now = now or timezone.now()
    limits = list(StatusLimit.objects.all())  # read once per run: a change in the admin counts from the next
    raised = 0
    for level in _levels(limits):
        if raised >= batch:
            break
        for submission in _stale(level, limits, now)[: batch - raised]:
            raised += _alert(submission, level, limits, now)
    return raised


def _levels(limits: list[StatusLimit]) -> list[_Level]:
    """Every limit's levels, the second before the first: a submission already past both (the
    watchdog was down, or a limit was shortened) gets the second alert alone, not two at once."""
    levels = []
    for limit in limits:
        if limit.second_after is not None:
            levels.append(_Level(limit, 2, limit.second_after))
        levels.append(_Level(limit, 1, limit.first_after))
    return levels


def _stale(level: _Level, limits: list[StatusLimit], now: datetime) -> QuerySet:
    """The submissions past `level` that have no alert at it yet, the longest waiting first."""
    limit = level.limit
    if limit.status == Status.SUBMITTING:
        # submission_unsent_idx: only the sends not yet confirmed are looked at.
        rows = Submission.objects.filter(state__in=UNSENT)
    else:
        # submission_stale_idx: only the followed submissions in that status are looked at.
        rows = Submission.objects.filter(state=State.SENT, terminal=False, clearance_status=limit.status)
    if limit.counted_from == StatusLimit.CountedFrom.DEADLINE:
        rows = rows.filter(mc_deadline__isnull=False, mc_deadline__lte=now + level.after).order_by("mc_deadline")
    else:
        rows = rows.filter(status_since__lte=now - level.after).order_by("status_since")
    if limit.country:
        rows = rows.filter(invoice__country=limit.country)
    else:
        own = [other.country for other in limits if other.status == limit.status and other.country]
        rows = rows.exclude(invoice__country__in=own)
    # The first alert is not raised once the second was: either one tells that the limit passed. An
    # alert counts for the stay in the status it was raised in: after a person retried a stuck send,
    # or the status moved on and back, the limits count again from the new start.
    alerted = StatusAlert.objects.filter(
        submission=OuterRef("pk"), status=limit.status, level__gte=level.level, since=OuterRef("stay")
    )
    return rows.alias(stay=Coalesce("status_since", "created_at")).exclude(Exists(alerted))


def _alert(submission: Submission, level: _Level, limits: list[StatusLimit], now: datetime) -> int:
    """Writes the alert and tells the people of `submission`; 0 when another run got there first
    or the submission left the status meanwhile."""
    limit = level.limit
    try:
        with transaction.atomic():
            # Locked and read again: a poll that moved it on since the list was read wins, and a
            # second watchdog holding it skips it instead of waiting to raise the same alert.
            still = (
                _stale(level, limits, now).filter(pk=submission.pk).select_for_update(skip_locked=True, of=("self",))
            )
            current = still.select_related(
                "invoice__administration", "invoice__author", "invoice__assignee", "submitted_by"
            ).first()
            if current is None:
                return 0
            alert = StatusAlert.objects.create(
                submission=current,
                status=limit.status,
                level=level.level,
                limit=level.after,
                since=current.status_since or current.created_at,
                raised_at=now,
            )
            _tell(current, alert)
    except IntegrityError:
        logger.info("submission %s: %s alert %s already raised", submission.pk, limit.status, level.level)
        return 0
    logger.info("submission %s: %s past %s (alert %s)", submission.pk, limit.status, level.after, level.level)
    return 1


def _tell(submission: Submission, alert: StatusAlert) -> None:
    """The bell (and, after commit, the e-mail) of everyone who answers for the invoice, and the audit row."""
    invoice = submission.invoice
    administration = invoice.administration
    approvers = [
        approval.approver
        for approval in Approval.objects.filter(
            invoice=invoice, invoice_version=submission.invoice_version
        ).select_related("approver")
    ]
    number = submission.invoice_number or invoice.invoice_number
    notify(
        recipients=[invoice.author, *approvers, invoice.assignee, submission.submitted_by],
        administration=administration,
        kind=Notification.Kind.STATUS_STALE,
        key=f"stale:{submission.pk}:{alert.status}:{alert.level}:{alert.since.timestamp():.0f}",
        data={
            "invoice": invoice.pk,
            "number": number,
            "submission": submission.pk,
            "status": alert.status,
            "level": alert.level,
            "since": alert.since.isoformat(),
            "mc_deadline": submission.mc_deadline.isoformat() if submission.mc_deadline else "",
        },
        url=reverse(
            "invoicing:invoice-detail",
            kwargs={"company_number": administration.company_number, "invoice_pk": invoice.pk},
        ),
    )
    activity_record(
        administration=administration,
        actor=None,
        action="invoice.status_stale",
        data={
            "invoice": invoice.pk,
            "invoice_number": number,
            "submission": submission.pk,
            "status": alert.status,
            "level": alert.level,
            "limit": int(alert.limit.total_seconds()),
        },
    )
