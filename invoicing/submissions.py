"""Submitting an invoice exactly once: the Submission outbox and its send task.

`invoice_submit` freezes a draft and records the intent (a Submission holding the exact bytes to
send and an idempotency key made now) in one transaction; the send task leaves after commit. The
task claims the row with a lease (`sending_until`, mirrored in `next_attempt_at` so the sweeper's
index finds crashed sends), POSTs the stored bytes under the stored key, keeps every exchange, and
records the outcome in one transaction with an Activity row:
- 200: SENT, Clearvo's reference and status; the invoice mirrors the clearance status.
- no usable answer (transport failure, 429, 5xx, an unreadable 200): RETRYING with exponential
  backoff (honouring Retry-After) and the same key and body, so that Clearvo answers a request it
  already processed from its cache. Never once the key may have expired at Clearvo
  (CLEARVO_KEY_LIFETIME after the first attempt), nor after SUBMISSION_MAX_ATTEMPTS: then HELD,
  and a person decides (`submission_retry` or `submission_release`).
- 400/422: REFUSED with Clearvo's violations; the invoice goes back to draft.
- 409: FAILED, logged as the defect it is; the invoice waits for staff, never re-sent with a new key.
- 401 or no key: FAILED and back to draft on a first attempt; HELD after earlier attempts (one of
  them may have reached Clearvo).
A worker that dies mid-send leaves the row SENDING; once its lease ends, `submissions_sweep`
treats the outcome as unknown: the same request again within the key's lifetime, HELD after it.
"""

import logging
import random
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clearfacts_app.activity import activity_record
from clearfacts_app.roles import Action, can
from invoicing import books, clearvo, duplicates, notifications, profiles, reviews, rules
from invoicing.models import ClearanceEvent, Exchange, Invoice, Submission, key_mode
from invoicing.payload import payload_bytes
from invoicing.services import SUPPLIER_FIELDS, supplier_copy
from invoicing.tasks import poll_submission, send_submission

logger = logging.getLogger(__name__)

State, Reason = Submission.State, Submission.Reason
CLAIMABLE = (State.QUEUED, State.RETRYING)
SWEEP_BATCH = 500
# A send's lease outlasts one POST (connect and read timeouts) by this much: database writes, a pause.
LEASE_MARGIN = timedelta(seconds=10)
# A task arriving this early for its attempt (clocks, the broker's rounding) still sends.
EARLY = timedelta(seconds=1)
INVOICE_STATUS = {
    Submission.ClearanceStatus.PENDING: Invoice.Status.PENDING,
    Submission.ClearanceStatus.ACCEPTED: Invoice.Status.ACCEPTED,
    Submission.ClearanceStatus.REJECTED: Invoice.Status.REJECTED,
    Submission.ClearanceStatus.DUPLICATE: Invoice.Status.DUPLICATE,
    Submission.ClearanceStatus.UNDELIVERED: Invoice.Status.UNDELIVERED,
}


class SubmitRefused(Exception):
    """What the invoice's or submission's state does not allow; `message` says why, to the user.

    `problems` (invoicing.rules.Problem, on the invoice's fields and lines) when the invoice itself
    is the reason.
    """

    def __init__(self, message: str, *, problems=()):
        super().__init__(message)
        self.message = message
        self.problems = list(problems)


def _dispatch(submission_id: int, *, countdown: float | None = None) -> None:
    """Hands the send to a worker once the transaction commits (at once outside one)."""
    if countdown:
        send_submission.apply_async_on_commit((submission_id,), countdown=countdown)
    else:
        send_submission.delay_on_commit(submission_id)


def _notify(submission_id: int) -> None:
    transaction.on_commit(lambda: notifications.submission_outcome_notify(submission_id))


def _record(submission: Submission, *, action: str, actor=None, changes: dict | None = None, **data) -> None:
    invoice = submission.invoice
    before = getattr(submission, "state_before", None)  # set by _save
    if changes is None and before is not None and before != submission.state:
        changes = {"state": [before, submission.state]}
    activity_record(
        administration=invoice.administration,
        actor=actor,
        action=action,
        data={"invoice": invoice.pk, "number": invoice.invoice_number, "submission": submission.pk, **data},
        changes=changes,
    )


def _reason(code: str, **params) -> dict:
    """The fields that record why a submission retries, waits or ended (translated when shown)."""
    return {"reason_code": code, "reason_params": params}


NO_REASON = {"reason_code": "", "reason_params": {}}


def _lease() -> timedelta:
    connect, read = settings.EXTERNAL_TIMEOUT
    return timedelta(seconds=connect + read) + LEASE_MARGIN


def _key_expired(submission: Submission, at: datetime) -> bool:
    """Whether a send starting at `at` could reach Clearvo after it forgot the key of an earlier attempt.

    Counted from our first attempt, which is no later than Clearvo's first sight of the key.
    """
    if not submission.attempts or submission.first_attempt_at is None:
        return False
    return at + _lease() >= submission.first_attempt_at + settings.CLEARVO_KEY_LIFETIME


def _lifetime_hours() -> int:
    return max(1, round(settings.CLEARVO_KEY_LIFETIME.total_seconds() / 3600))


def _backoff(attempts: int, retry_after: float | None) -> timedelta:
    """Doubling from SUBMISSION_RETRY_BACKOFF up to its maximum, half of it random (sends that failed
    together do not come back together), never sooner than Clearvo's Retry-After."""
    seconds = min(
        settings.SUBMISSION_RETRY_BACKOFF * 2 ** min(max(attempts - 1, 0), 30), settings.SUBMISSION_RETRY_BACKOFF_MAX
    )
    seconds = seconds / 2 + random.uniform(0, seconds / 2)
    return timedelta(seconds=max(seconds, retry_after or 0))


def _current_mode(office) -> str:
    """ "test" or "live": the kind of key the office sends with now; NotConfigured without one."""
    return key_mode(clearvo.client_for(office).api_key)


def _no_key_message() -> str:
    return _("The office has no Clearvo API key: an office administrator must enter one before invoices are submitted.")


def _back_to_draft(invoice_id: int, now: datetime) -> None:
    """The frozen invoice is a draft again, at a new version (an editor open at the old one must reload)."""
    Invoice.objects.filter(pk=invoice_id, status=Invoice.Status.SUBMITTING).update(
        status=Invoice.Status.DRAFT, version=F("version") + 1, updated_at=now, **reviews.back_in_review()
    )


def _save(submission: Submission, **fields) -> None:
    submission.state_before = submission.state  # for the audit row (_record)
    for name, value in fields.items():
        setattr(submission, name, value)
    submission.save(update_fields=[*fields, "updated_at"])


# Submitting


def _standing(invoice: Invoice) -> Submission | None:
    """The submission that stands for `invoice` now: one still followed, or, once the invoice has
    left draft, the last one Clearvo answered."""
    submissions = invoice.submissions.order_by("-pk")
    current = submissions.filter(Submission.ACTIVE_CONDITION).first()
    if current is None and invoice.status != Invoice.Status.DRAFT:
        current = submissions.filter(state=State.SENT).first()
    return current


def invoice_submit(*, invoice: Invoice, user, expected_version: int | None) -> Submission:
    """Freezes the draft `invoice` and records its Submission; the send starts after commit.

    Refused (SubmitRefused) for an invoice that is not a draft, that changed since `expected_version`
    (the version the user saw), that breaks Clearvo's rules (`problems`), or of an office without a
    Clearvo key. An invoice already submitted (a double click, two tabs, two colleagues) gets its
    standing Submission back, and nothing is created.
    """
    if _supplier_refreshed(invoice):
        raise SubmitRefused(_supplier_changed_message(invoice))
    try:
        return _submit(invoice=invoice, user=user, expected_version=expected_version)
    except IntegrityError:
        # one_active_submission_per_invoice: another transaction got there first, past the row lock.
        existing = Submission.objects.filter(Submission.ACTIVE_CONDITION, invoice_id=invoice.pk).first()
        if existing is None:
            raise
        return existing


def _supplier_changes(invoice: Invoice, profile) -> dict:
    """{field: [on the invoice, in the profile]} of the supplier details the profile changed since."""
    return {
        field: [getattr(invoice, field), getattr(profile, profile_field)]
        for field, profile_field in SUPPLIER_FIELDS.items()
        if getattr(invoice, field) != getattr(profile, profile_field)
    }


def _supplier_refreshed(invoice: Invoice) -> bool:
    """Under four eyes, a draft whose supplier details changed in the profile since it was written
    takes them now, as a new version, so that what is approved is what is sent (without four eyes
    they are simply copied when it is submitted). Returns whether it did; its own transaction, so
    the new version stays although the submit is refused."""
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().select_related("administration").get(pk=invoice.pk)
        if locked.status != Invoice.Status.DRAFT or not reviews.four_eyes_on(locked.administration):
            return False
        changes = _supplier_changes(locked, profiles.profile_for(locked.administration))
        if not changes:
            return False
        Invoice.objects.filter(pk=locked.pk).update(
            **{field: new for field, (_old, new) in changes.items()},
            version=F("version") + 1,
            updated_at=timezone.now(),
            **reviews.back_in_review(),
        )
        activity_record(
            administration=locked.administration,
            actor=None,
            action="invoice.supplier_refreshed",
            data={"invoice": locked.pk, "number": locked.invoice_number},
            changes=changes,
        )
    return True


def _supplier_changed_message(invoice: Invoice) -> str:
    return _(
        "The supplier's details in the invoicing profile changed since invoice %(number)s was written: it shows "
        "them now, and a colleague must approve this version before it is submitted."
    ) % {"number": invoice.invoice_number}


def _submit(*, invoice: Invoice, user, expected_version: int | None) -> Submission:
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        existing = _standing(locked)
        if existing is not None:
            return existing
        number = {"number": locked.invoice_number}
        if locked.status != Invoice.Status.DRAFT:
            raise SubmitRefused(_("Invoice %(number)s is no longer a draft: it cannot be submitted.") % number)
        if expected_version is None or locked.version != expected_version:
            raise SubmitRefused(
                _("Invoice %(number)s was changed since you opened it: check it, then submit it again.") % number
            )
        if missing := reviews.approval_missing(locked):  # under the row lock: no change slips in between
            raise SubmitRefused(
                _("Invoice %(number)s cannot be submitted yet. %(reason)s.") % (number | {"reason": missing})
            )
        profile = profiles.profile_for(locked.administration)
        if _supplier_changes(locked, profile) and reviews.four_eyes_on(locked.administration):
            raise SubmitRefused(_supplier_changed_message(locked))  # the profile changed a moment ago
        supplier_copy(locked, profile)
        problems = rules.invoice_problems(locked, locked.lines.all())
        if problems:
            raise SubmitRefused(
                ngettext(
                    "Invoice %(number)s cannot be submitted: fix the problem marked first.",
                    "Invoice %(number)s cannot be submitted: fix the %(count)d problems marked first.",
                    len(problems),
                )
                % (number | {"count": len(problems)}),
                problems=problems,
            )
        try:
            mode = _current_mode(locked.administration.office)
        except clearvo.NotConfigured:
            raise SubmitRefused(_no_key_message()) from None
        locked.status, locked.version = Invoice.Status.SUBMITTING, locked.version + 1
        locked.save(update_fields=[*SUPPLIER_FIELDS, "status", "version", "updated_at"])
        body = payload_bytes(locked)
        submission = Submission.objects.create(
            invoice=locked,
            submitted_by=user,
            invoice_version=locked.version,
            body=body,
            body_sha256=clearvo.body_sha256(body),
            invoice_number=locked.invoice_number,
            idempotency_key=uuid.uuid4(),
            api_mode=mode,
            state=State.QUEUED,
            next_attempt_at=timezone.now(),
            status_since=timezone.now(),
        )
        _record(
            submission,
            action="invoice.submitted",
            actor=user,
            changes={"status": [Invoice.Status.DRAFT, Invoice.Status.SUBMITTING], "state": [None, State.QUEUED]},
            version=locked.version,
            mode=mode,
        )
        _dispatch(submission.pk)
    return submission


# Sending (the task)


def submission_send(submission_id: int) -> str:
    """Sends a queued or retrying submission once (in a task); returns the state it is left in.

    Does nothing (and says why) for a submission another worker is sending, that is not due yet,
    or that is no longer waiting to be sent.
    """
    claimed = _claim(submission_id)
    if isinstance(claimed, str):
        return claimed
    submission, client = claimed
    lease = submission.sending_until

    def record(exchange: dict) -> None:
        Exchange.objects.create(submission_id=submission.pk, **exchange)  # kept even if what follows fails

    try:
        answer = client.submit(
            bytes(submission.body),
            idempotency_key=str(submission.idempotency_key),
            entity_id=submission.invoice.administration.company_number,
            record=record,
        )
    except clearvo.Invalid as error:
        return _refused(submission, lease, error)
    except clearvo.Conflict as error:
        return _conflict(submission, lease, error)
    except clearvo.NotAuthorized:
        return _key_problem(submission, lease, Reason.KEY_REFUSED)
    except clearvo.Unavailable as error:
        return _try_again(submission, lease, error, Reason.UNREACHABLE)
    except clearvo.OutcomeUnknown as error:
        return _try_again(submission, lease, error, Reason.ANSWER_LOST)
    except clearvo.ClearvoError as error:  # AnswerInvalid: an answer outside the contract (a 404, a 3xx...)
        return _try_again(submission, lease, error, Reason.UNEXPECTED_ANSWER)
    return _sent(submission, lease, answer)


def _claim(submission_id: int) -> tuple[Submission, clearvo.Clearvo] | str:
    """Takes the submission for one send (state SENDING, a lease); or holds or fails it when it may
    not be sent; or says why it is not this task's to send."""
    now = timezone.now()
    # A look without the lock first: duplicates (the sweeper's, the broker's) are common and cheap.
    state = Submission.objects.filter(pk=submission_id).values_list("state", flat=True).first()
    if state is None:
        return "no such submission"
    if state not in CLAIMABLE:
        return f"not claimable ({state})"
    with transaction.atomic():
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission.state not in CLAIMABLE:
            return f"not claimable ({submission.state})"
        if submission.next_attempt_at is not None and submission.next_attempt_at > now + EARLY:
            return "not due"
        if _key_expired(submission, now):
            return _hold(submission, _outcome_unknown(submission))
        # The submitter's right, checked again before the first POST only: their role may have been
        # lowered since they submitted, and then nothing is sent (the invoice is a draft again, the
        # page says why). Once a POST may have reached Clearvo the same key must be sent again until
        # Clearvo answers, never abandoned: a later attempt is not refused for a role.
        if not submission.attempts and not can(
            submission.submitted_by, Action.SUBMIT, submission.invoice.administration
        ):
            return _key_problem(submission, None, Reason.NOT_ALLOWED, user=str(submission.submitted_by))
        try:
            client = clearvo.client_for(submission.invoice.administration.office)
        except clearvo.NotConfigured:
            return _key_problem(submission, None, Reason.NO_KEY)
        mode = key_mode(client.api_key)
        if submission.api_mode and mode != submission.api_mode:
            return _hold(submission, _reason(Reason.KEY_CHANGED, was=submission.api_mode, now=mode))
        lease = now + _lease()
        _save(
            submission,
            state=State.SENDING,
            sending_until=lease,
            next_attempt_at=lease,  # so the sweeper's index finds it once the lease has run out
            attempts=submission.attempts + 1,
            first_attempt_at=submission.first_attempt_at or now,
            api_mode=mode,
        )
    return submission, client


def _locked(submission: Submission, lease: datetime | None) -> Submission | None:
    """The submission locked, if this task still holds it (its lease, or not yet claimed when None)."""
    locked = Submission.objects.select_for_update().filter(pk=submission.pk).first()
    if lease is None:
        return locked
    if locked is None or locked.state != State.SENDING or locked.sending_until != lease:
        logger.warning("submission %s: the send's lease was lost; its outcome is left to the holder", submission.pk)
        return None
    return locked


def _sent(submission: Submission, lease: datetime, answer: clearvo.SubmitAnswer) -> str:
    now = timezone.now()
    with transaction.atomic():
        locked = Submission.objects.select_for_update().filter(pk=submission.pk).first()
        if locked is None:
            return "no such submission"
        # The answer is good whoever holds the row now, unless it already ended: the same key
        # gives every holder this same answer.
        taken_over = locked.state == State.SENDING and locked.sending_until != lease
        if locked.state not in (State.SENDING, *CLAIMABLE, State.HELD) or taken_over:
            log = logger.error if locked.state in (State.CANCELLED, State.FAILED) else logger.info
            log("submission %s (%s): Clearvo answered %s late", locked.pk, locked.state, answer.reference_id)
            return str(locked.state)
        status = answer.clearance_status
        submitted_at = answer.submitted_at or now
        _save(
            locked,
            state=State.SENT,
            sending_until=None,
            next_attempt_at=None,
            reference_id=answer.reference_id,
            clearance_status=status,
            terminal=answer.terminal,
            submitted_at=submitted_at,
            status_since=now,
            next_poll_at=now if answer.terminal else (answer.next_poll_after or now),
            **NO_REASON,
        )
        Invoice.objects.filter(pk=locked.invoice_id, status=Invoice.Status.SUBMITTING).update(
            status=INVOICE_STATUS[status], updated_at=now
        )
        if status == Submission.ClearanceStatus.ACCEPTED:
            books.book_filings_request([locked.invoice_id])  # accepted at once: into the books with it
        if duplicates.is_duplicate_answer(status, answer.raw.get("error")):  # Germany's DUPLICATE, on the POST
            duplicates.submissions_reconcile([locked.pk])
        ClearanceEvent.objects.get_or_create(submission=locked, status=status, at=submitted_at)
        _record(locked, action="invoice.sent", reference=answer.reference_id, status=status)
        if answer.terminal:
            _notify(locked.pk)
            # A terminal answer (Germany's) has no events: its status answer has them (peppolDelivered).
            poll_submission.delay_on_commit(locked.pk)
    logger.info("submission %s sent: %s %s", locked.pk, answer.reference_id, status)
    return State.SENT


def _try_again(submission: Submission, lease: datetime, error: clearvo.ClearvoError, code: str) -> str:
    """No usable answer: the same request again after a backoff, unless that is no longer safe or sensible."""
    with transaction.atomic():
        locked = _locked(submission, lease)
        if locked is None:
            return "lease lost"
        delay = _backoff(locked.attempts, error.retry_after)
        when = timezone.now() + delay
        if locked.attempts >= settings.SUBMISSION_MAX_ATTEMPTS:
            return _hold(
                locked, _reason(Reason.GAVE_UP, attempts=locked.attempts, number=locked.invoice.invoice_number)
            )
        if _key_expired(locked, when):
            return _hold(locked, _outcome_unknown(locked))
        _save(
            locked,
            state=State.RETRYING,
            sending_until=None,
            next_attempt_at=when,
            **_reason(code, attempts=locked.attempts, status=error.status_code),
        )
        _record(locked, action="invoice.submission_retrying", attempts=locked.attempts, reason=code)
        _dispatch(locked.pk, countdown=delay.total_seconds())
    logger.info(
        "submission %s: attempt %d failed (%s); again in %.1f s",
        locked.pk,
        locked.attempts,
        error,
        delay.total_seconds(),
    )
    return State.RETRYING


def _outcome_unknown(submission: Submission) -> dict:
    return _reason(Reason.OUTCOME_UNKNOWN, number=submission.invoice.invoice_number, hours=_lifetime_hours())


def _hold(locked: Submission, reason: dict, *, actor=None) -> str:
    """Waits for a person (the invoice stays submitting); call it inside the transaction holding the row."""
    _save(locked, state=State.HELD, sending_until=None, next_attempt_at=None, **reason)
    _record(locked, action="invoice.submission_held", actor=actor, reason=reason["reason_code"])
    _notify(locked.pk)
    logger.warning("submission %s held: %s", locked.pk, reason["reason_code"])
    return State.HELD


def _refused(submission: Submission, lease: datetime, error: clearvo.Invalid) -> str:
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(submission, lease)
        if locked is None:
            return "lease lost"
        _save(
            locked,
            state=State.REFUSED,
            sending_until=None,
            next_attempt_at=None,
            violations=error.violations,
            **_reason(Reason.REFUSED, message=error.message, status=error.status_code),
        )
        _back_to_draft(locked.invoice_id, now)
        _record(locked, action="invoice.submission_refused", status=error.status_code, violations=len(error.violations))
        _notify(locked.pk)
    return State.REFUSED


def _conflict(submission: Submission, lease: datetime, error: clearvo.Conflict) -> str:
    with transaction.atomic():
        locked = _locked(submission, lease)
        if locked is None:
            return "lease lost"
        _save(locked, state=State.FAILED, sending_until=None, next_attempt_at=None, **_reason(Reason.CONFLICT))
        _record(locked, action="invoice.submission_failed", reason=Reason.CONFLICT)
    # Our defect: the stored body never changes, so another body under this key is not Clearvo's doing.
    logger.error(
        "submission %s: Clearvo answered 409 to key %s (body sha256 %s): %s",
        locked.pk,
        locked.idempotency_key,
        locked.body_sha256,
        error.message,
    )
    return State.FAILED


def _key_problem(submission: Submission, lease: datetime | None, code: str, **params) -> str:
    """The send may not happen (the office's key is missing or refused, the submitter may no longer
    submit): nothing was processed this time. A first attempt
    fails and the invoice is a draft again; after earlier attempts (one may have reached Clearvo)
    the submission waits for a person."""
    with transaction.atomic():
        locked = _locked(submission, lease)
        if locked is None:
            return "lease lost"
        earlier = locked.attempts - (1 if lease is not None else 0)
        if earlier > 0:
            return _hold(locked, _reason(code, **params))
        _save(locked, state=State.FAILED, sending_until=None, next_attempt_at=None, **_reason(code, **params))
        _back_to_draft(locked.invoice_id, timezone.now())
        _record(locked, action="invoice.submission_failed", reason=code)
    return State.FAILED


# The sweeper


def submissions_sweep(*, stale_after: timedelta | None = None, batch: int = SWEEP_BATCH) -> list[int]:
    """Dispatches again what a lost task left behind; returns the submissions dispatched.

    Sends whose lease ran out (their worker died mid-send: the outcome is unknown) are tried again
    with the same request, or held once that is no longer safe. Queued and retrying sends due for
    `stale_after` (SUBMISSION_SWEEP_AFTER_SECONDS) without being taken up are dispatched again. At
    most `batch` of each, read through the submission_unsent_idx index: the cost follows what is due.
    """
    now = timezone.now()
    if stale_after is None:
        stale_after = timedelta(seconds=settings.SUBMISSION_SWEEP_AFTER_SECONDS)
    crashed = Submission.objects.filter(state=State.SENDING, next_attempt_at__lt=now).order_by("next_attempt_at")
    interrupted = [pk for pk in crashed.values_list("pk", flat=True)[:batch] if _interrupted(pk, now)]
    lost = _lost(now, stale_after, batch)
    # updated_at records the dispatch (next_attempt_at keeps the time it was due).
    Submission.objects.filter(pk__in=lost, state__in=CLAIMABLE).update(updated_at=now)
    for pk in lost:
        _dispatch(pk)
    if interrupted or lost:
        logger.info("sweeper: %d interrupted and %d lost sends dispatched again", len(interrupted), len(lost))
    return interrupted + lost


def _lost(now: datetime, stale_after: timedelta, batch: int) -> list[int]:
    """Queued and retrying sends overdue by `stale_after`, not dispatched again since half that long.

    A queue that is merely long (a burst of submits, slow workers) looks like lost tasks too: each
    such send is dispatched again after being overdue stale_after, then 2×, 4×... as long, so that
    the duplicates (which find it taken and do nothing) stay few and cannot swamp the queue.
    """
    overdue = (
        Submission.objects.filter(state__in=CLAIMABLE, next_attempt_at__lte=now - stale_after)
        .order_by("next_attempt_at")
        .values_list("pk", "next_attempt_at", "updated_at")
    )
    found = []
    for pk, due, dispatched in overdue[: batch * 10]:
        if dispatched <= now - stale_after and dispatched - due <= (now - due) / 2:
            found.append(pk)
            if len(found) == batch:
                break
    return found


def _interrupted(submission_id: int, now: datetime) -> bool:
    """A send whose worker died: the same request again (True), or held when that is no longer safe."""
    with transaction.atomic():
        locked = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if locked is None or locked.state != State.SENDING or locked.next_attempt_at >= now:
            return False
        if locked.attempts >= settings.SUBMISSION_MAX_ATTEMPTS:
            _hold(locked, _reason(Reason.GAVE_UP, attempts=locked.attempts, number=locked.invoice.invoice_number))
            return False
        if _key_expired(locked, now):
            _hold(locked, _outcome_unknown(locked))
            return False
        _save(
            locked,
            state=State.RETRYING,
            sending_until=None,
            next_attempt_at=now,
            **_reason(Reason.INTERRUPTED, attempts=locked.attempts),
        )
        _record(locked, action="invoice.submission_retrying", attempts=locked.attempts, reason=Reason.INTERRUPTED)
        _dispatch(locked.pk)
    logger.warning("submission %s: its send was interrupted; sent again with the same key", submission_id)
    return True


# What a person decides about a held submission


def submission_can_retry(submission: Submission) -> bool:
    """Whether `submission_retry` would send it: waiting, and its key still safe to repeat."""
    return submission.state in (State.HELD, State.RETRYING) and not _key_expired(submission, timezone.now())


def submission_can_release(submission: Submission) -> bool:
    """Whether `submission_release` would return its invoice to draft: held, or failed with the invoice frozen."""
    if submission.state == State.HELD:
        return True
    return submission.state == State.FAILED and submission.invoice.status == Invoice.Status.SUBMITTING


def submission_retry(*, submission: Submission, user) -> Submission:
    """Sends a held or retrying submission again now, with the SAME key and body.

    Refused (SubmitRefused) for any other state, for a key Clearvo may have forgotten (a repeat
    could then submit the invoice twice: the person must check Clearvo), or without a Clearvo key.
    """
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        number = {"number": locked.invoice.invoice_number}
        if locked.state not in (State.HELD, State.RETRYING):
            raise SubmitRefused(_("The submission of invoice %(number)s is not waiting to be sent.") % number)
        if _key_expired(locked, timezone.now()):
            raise SubmitRefused(
                _(
                    "The submission of invoice %(number)s is older than the %(hours)d hours Clearvo remembers it: "
                    "sending it again could submit the invoice twice. Check in Clearvo whether it holds the "
                    "invoice; release it only if it does not."
                )
                % (number | {"hours": _lifetime_hours()})
            )
        try:
            mode = _current_mode(locked.invoice.administration.office)
        except clearvo.NotConfigured:
            raise SubmitRefused(_no_key_message()) from None
        _save(
            locked,
            state=State.RETRYING,
            next_attempt_at=timezone.now(),
            status_since=timezone.now(),
            api_mode=mode,
            **NO_REASON,
        )
        _record(locked, action="invoice.submission_retried", actor=user, attempts=locked.attempts)
        _dispatch(locked.pk)
    return locked


def submission_release(*, submission: Submission, user) -> Submission:
    """A person confirms Clearvo does not hold the invoice: the submission ends (CANCELLED) and the
    invoice is a draft again, so that a later submit makes a new key.

    Refused (SubmitRefused) unless the submission is held, or failed with its invoice still frozen.
    """
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if not submission_can_release(locked):
            raise SubmitRefused(
                _("The submission of invoice %(number)s is not waiting for a decision.")
                % {"number": locked.invoice.invoice_number}
            )
        _save(
            locked,
            state=State.CANCELLED,
            sending_until=None,
            next_attempt_at=None,
            **_reason(Reason.RELEASED, user=str(user)),
        )
        _back_to_draft(locked.invoice_id, timezone.now())
        _record(locked, action="invoice.submission_released", actor=user)
    return locked
