"""Sending a submission when things go wrong, against the sandbox's Clearvo over a real socket.

A fault before the work leaves nothing stored; a fault after it leaves the invoice stored at
Clearvo without the portal knowing. Either way the retry sends the same bytes under the same key,
so Clearvo holds exactly one invoice and the portal ends with its referenceId. What no retry can fix
(400/422, 409, a refused key) ends at once; what can no longer be retried safely waits for a person.
"""

import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from clearfacts_app.models import Activity
from invoicing import clearvo
from invoicing.models import ClearvoAccount, Exchange, Invoice, Submission
from invoicing.submissions import (
    SubmitRefused,
    invoice_submit,
    submission_can_release,
    submission_can_retry,
    submission_release,
    submission_retry,
    submission_send,
    submissions_sweep,
)
from sandbox.clearvo.models import InvoiceSubmission
from sandbox.instrument import fail_next
from tests.invoicing.submit_helpers import body_with, new_key, post_to_sandbox, posts, ready_draft, stored, submitted

State, Reason = Submission.State, Submission.Reason
POST = "POST /invoices"


@pytest.fixture
def submission(live_clearvo, administration, member, dispatched):
    """A submitted Italian invoice whose send task has not run yet (the tests run it)."""
    created = submitted(ready_draft(administration, member), member)
    dispatched.clear()
    return created


def due_now(submission: Submission) -> None:
    """The backoff has passed."""
    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now())


def reload(submission: Submission) -> Submission:
    submission.refresh_from_db()
    submission.invoice.refresh_from_db()
    return submission


def ends_sent_once(submission: Submission) -> None:
    """Sent, with the referenceId of the one invoice Clearvo holds, every POST under the one key and body."""
    reload(submission)
    held = stored(submission).get()
    assert submission.state == State.SENT and submission.reference_id == held.reference_id
    assert held.idempotency_key == str(submission.idempotency_key)
    assert submission.invoice.status == Invoice.Status.PENDING
    assert posts().exclude(idempotency_key=str(submission.idempotency_key)).count() == 0
    assert InvoiceSubmission.objects.count() == 1


# Faults before the work: nothing stored, the same request again later


BEFORE_THE_WORK = [
    # Only a 429 says for sure that nothing was processed; a 5xx or a dropped connection to a POST
    # might as well have come after the work, so it counts as an answer lost.
    pytest.param({"kind": "retry_later", "status": 429}, Reason.UNREACHABLE, id="429"),
    pytest.param({"kind": "retry_later", "status": 503}, Reason.ANSWER_LOST, id="503-retry-after"),
    pytest.param({"kind": "error", "status": 500}, Reason.ANSWER_LOST, id="500"),
    pytest.param({"kind": "error", "status": 503}, Reason.ANSWER_LOST, id="503"),
    pytest.param({"kind": "html", "status": 502}, Reason.ANSWER_LOST, id="html-502"),
    pytest.param({"kind": "empty", "status": 504}, Reason.ANSWER_LOST, id="empty-504"),
    pytest.param({"kind": "drop"}, Reason.ANSWER_LOST, id="dropped-connection"),
]


@pytest.mark.parametrize(("fault", "reason"), BEFORE_THE_WORK)
def test_a_fault_before_the_work_is_retried_later_with_the_same_key(submission, dispatched, fault, reason):
    fail_next(
        "clearvo", operation=POST, when="before", retry_after=1 if fault["kind"] == "retry_later" else None, **fault
    )

    assert submission_send(submission.pk) == State.RETRYING

    reload(submission)
    assert submission.attempts == 1 and submission.reason_code == reason
    assert submission.next_attempt_at > timezone.now()
    assert submission.invoice.status == Invoice.Status.SUBMITTING
    countdown = (submission.next_attempt_at - timezone.now()).total_seconds()
    assert dispatched == [(submission.pk, pytest.approx(countdown, abs=1))]
    assert not stored(submission).exists()
    assert Exchange.objects.get().status_code == fault.get("status", 0)
    assert Activity.objects.filter(action="invoice.submission_retrying").count() == 1

    assert submission_send(submission.pk) == "not due", "a task that comes early leaves it to the scheduled one"
    due_now(submission)
    assert submission_send(submission.pk) == State.SENT
    ends_sent_once(submission)
    assert posts(submission).count() == 2 and submission.attempts == 2
    assert Exchange.objects.filter(submission=submission).count() == 2


def test_a_retry_after_from_clearvo_is_honoured(submission, dispatched):
    fail_next("clearvo", operation=POST, when="before", kind="retry_later", status=429, retry_after=30)

    before = timezone.now()
    submission_send(submission.pk)

    reload(submission)
    assert submission.state == State.RETRYING and submission.reason_code == Reason.UNREACHABLE
    assert submission.next_attempt_at >= before + timedelta(seconds=30)
    assert dispatched[0][1] >= 30


def test_a_refused_connection_is_retried_later(submission):
    with override_settings(CLEARVO_API_URL="http://127.0.0.1:9/v1"):
        assert submission_send(submission.pk) == State.RETRYING

    reload(submission)
    assert submission.reason_code == Reason.UNREACHABLE
    assert Exchange.objects.get().transport_error == "ConnectionError"


# Faults after the work: Clearvo stored the invoice, the portal does not know


AFTER_THE_WORK = [
    pytest.param({"kind": "error", "status": 500}, id="500"),
    pytest.param({"kind": "error", "status": 502}, id="502"),
    pytest.param({"kind": "error", "status": 504}, id="504"),
    pytest.param({"kind": "html", "status": 502}, id="html-502"),
    pytest.param({"kind": "empty", "status": 503}, id="empty-503"),
    pytest.param({"kind": "drop"}, id="dropped-connection"),
    pytest.param({"kind": "hold", "hold_seconds": 2.0}, id="answer-after-the-timeout"),
    pytest.param({"kind": "truncated"}, id="truncated-200"),
    pytest.param({"kind": "invalid_json"}, id="invalid-json-200"),
]


@pytest.mark.parametrize("fault", AFTER_THE_WORK)
def test_a_lost_answer_after_clearvo_stored_the_invoice_is_retried_with_the_same_key_and_body(submission, fault):
    fail_next("clearvo", operation=POST, when="after", **fault)

    with override_settings(EXTERNAL_TIMEOUT=(5.0, 0.5)):
        assert submission_send(submission.pk) == State.RETRYING

    reload(submission)
    assert submission.reason_code == Reason.ANSWER_LOST and submission.invoice.status == Invoice.Status.SUBMITTING
    assert stored(submission).count() == 1, "Clearvo did store it"
    first = Exchange.objects.get()
    assert first.status_code in (0, 200, fault.get("status", 200))
    due_now(submission)

    assert submission_send(submission.pk) == State.SENT

    ends_sent_once(submission)
    assert posts(submission).count() == 2
    assert posts(submission).filter(status=200).last().fault_injected is False


def test_a_send_past_the_keys_lifetime_is_held_not_sent(submission, notified):
    """The first attempt's outcome was lost a day ago: Clearvo may have forgotten its key by now."""
    Submission.objects.filter(pk=submission.pk).update(
        state=State.RETRYING,
        attempts=1,
        first_attempt_at=timezone.now() - settings.CLEARVO_KEY_LIFETIME - timedelta(minutes=1),
        next_attempt_at=timezone.now(),
        reason_code=Reason.ANSWER_LOST,
    )

    assert submission_send(submission.pk) == State.HELD

    reload(submission)
    assert submission.reason_code == Reason.OUTCOME_UNKNOWN and submission.invoice.status == Invoice.Status.SUBMITTING
    assert submission.invoice.invoice_number in submission.reason_text and "24 hours" in submission.reason_text
    assert not posts().exists(), "never re-sent by itself"
    assert notified == [submission.pk]
    assert not submission_can_retry(submission) and submission_can_release(submission)
    with pytest.raises(SubmitRefused, match="older than the 24 hours"):
        submission_retry(submission=submission, user=submission.submitted_by)


def test_a_retry_that_would_come_after_the_key_expired_is_held_instead(submission, notified):
    fail_next("clearvo", operation=POST, when="after", kind="error", status=500)

    with override_settings(CLEARVO_KEY_LIFETIME=timedelta(seconds=30)):
        assert submission_send(submission.pk) == State.HELD

    reload(submission)
    assert submission.reason_code == Reason.OUTCOME_UNKNOWN and notified == [submission.pk]
    assert stored(submission).count() == 1 and posts().count() == 1


def test_a_send_that_keeps_failing_waits_for_a_person_who_can_try_again_with_the_same_key(
    submission, notified, dispatched
):
    fail_next("clearvo", operation=POST, when="before", kind="error", status=503, count=2)

    with override_settings(SUBMISSION_MAX_ATTEMPTS=2):
        assert submission_send(submission.pk) == State.RETRYING
        due_now(submission)
        assert submission_send(submission.pk) == State.HELD

    reload(submission)
    assert submission.reason_code == Reason.GAVE_UP and submission.reason_params["attempts"] == 2
    assert notified == [submission.pk] and submission_can_retry(submission)
    dispatched.clear()

    submission_retry(submission=submission, user=submission.submitted_by)

    reload(submission)
    assert submission.state == State.RETRYING and dispatched == [(submission.pk, None)]
    assert Activity.objects.filter(action="invoice.submission_retried", actor=submission.submitted_by).exists()
    assert submission_send(submission.pk) == State.SENT
    ends_sent_once(submission)
    assert posts(submission).count() == 3


def test_a_released_submission_returns_the_invoice_to_draft_and_the_next_submit_makes_a_new_key(
    submission, member, dispatched
):
    Submission.objects.filter(pk=submission.pk).update(state=State.HELD, reason_code=Reason.OUTCOME_UNKNOWN)

    submission_release(submission=submission, user=member)

    reload(submission)
    assert submission.state == State.CANCELLED and submission.reason_code == Reason.RELEASED
    assert member.get_full_name() in submission.reason_text
    invoice = submission.invoice
    assert invoice.status == Invoice.Status.DRAFT and invoice.version == 3
    again = invoice_submit(invoice=invoice, user=member, expected_version=3)
    assert again.pk != submission.pk and again.idempotency_key != submission.idempotency_key
    with pytest.raises(SubmitRefused):
        submission_release(submission=submission, user=member)


# What no retry can fix


def test_a_400_returns_the_invoice_to_draft_with_clearvos_violations(submission, notified):
    def bad_tax_code(body):
        body["lines"][0]["taxCode"] = "XX"

    Submission.objects.filter(pk=submission.pk).update(body=body_with(submission, bad_tax_code))

    assert submission_send(submission.pk) == State.REFUSED

    reload(submission)
    assert submission.reason_code == Reason.REFUSED and submission.reason_params["status"] == 400
    assert [violation["field"] for violation in submission.violations] == ["lines[0].taxCode"]
    assert submission.invoice.status == Invoice.Status.DRAFT and submission.invoice.version == 3
    assert notified == [submission.pk] and not stored(submission).exists()
    assert Activity.objects.filter(action="invoice.submission_refused").exists()


def test_a_422_returns_the_invoice_to_draft_with_the_country_rules_violation(submission, notified):
    def bad_partita_iva(body):
        body["buyer"]["taxId"] = "09876543210"  # the spec's example: its check digit is wrong

    Submission.objects.filter(pk=submission.pk).update(body=body_with(submission, bad_partita_iva))

    assert submission_send(submission.pk) == State.REFUSED

    reload(submission)
    assert submission.reason_params["status"] == 422
    assert [violation["field"] for violation in submission.violations] == ["buyer.taxId"]
    assert submission.invoice.status == Invoice.Status.DRAFT and notified == [submission.pk]


def test_a_409_is_logged_as_a_defect_and_never_sent_again_with_another_key(submission, caplog, dispatched):
    def another_number(body):
        body["invoiceNumber"] += "-X"

    planted = post_to_sandbox(body_with(submission, another_number), idempotency_key=str(submission.idempotency_key))
    assert planted.status_code == 200
    key = submission.idempotency_key

    with caplog.at_level(logging.ERROR, logger="invoicing.submissions"):
        assert submission_send(submission.pk) == State.FAILED

    reload(submission)
    assert submission.reason_code == Reason.CONFLICT and submission.idempotency_key == key
    assert submission.invoice.status == Invoice.Status.SUBMITTING, "staff decide"
    assert any(record.levelno == logging.ERROR and "409" in record.getMessage() for record in caplog.records)
    assert dispatched == [] and not stored(submission).exists()
    assert submission_send(submission.pk) == "not claimable (failed)"
    assert posts().count() == 2
    assert submission_can_release(submission) and not submission_can_retry(submission)


def test_a_refused_api_key_returns_the_invoice_to_draft(submission, administration):
    ClearvoAccount.objects.create(office=administration.office, api_key="ck_test_not_a_key_of_clearvo")

    assert submission_send(submission.pk) == State.FAILED

    reload(submission)
    assert submission.reason_code == Reason.KEY_REFUSED and "office administrator" in submission.reason_text
    assert submission.invoice.status == Invoice.Status.DRAFT


def test_a_refused_api_key_after_an_unknown_outcome_waits_for_a_person(submission, administration):
    fail_next("clearvo", operation=POST, when="after", kind="drop")
    submission_send(submission.pk)
    ClearvoAccount.objects.create(office=administration.office, api_key="ck_test_not_a_key_of_clearvo")
    due_now(submission)

    assert submission_send(submission.pk) == State.HELD

    reload(submission)
    assert submission.reason_code == Reason.KEY_REFUSED and submission.invoice.status == Invoice.Status.SUBMITTING


def test_a_key_removed_before_the_send_returns_the_invoice_to_draft(submission):
    with override_settings(CLEARVO_API_KEY=""):
        assert submission_send(submission.pk) == State.FAILED

    reload(submission)
    assert submission.reason_code == Reason.NO_KEY and submission.invoice.status == Invoice.Status.DRAFT
    assert submission.attempts == 0 and not posts().exists()


def test_a_key_that_changed_from_test_to_live_between_attempts_waits_for_a_person(submission, administration):
    fail_next("clearvo", operation=POST, when="after", kind="error", status=500)
    submission_send(submission.pk)
    ClearvoAccount.objects.create(office=administration.office, api_key=settings.SANDBOX_CLEARVO_LIVE_KEY)
    due_now(submission)

    assert submission_send(submission.pk) == State.HELD

    reload(submission)
    assert submission.reason_code == Reason.KEY_CHANGED
    assert submission.reason_params == {"was": "test", "now": "live"}
    assert posts().count() == 1


# The sweeper


def test_a_send_whose_worker_died_after_posting_is_sent_again_with_the_same_key(submission, dispatched):
    # The dead worker's POST reached Clearvo; then the worker died before it could record the answer.
    answer = post_to_sandbox(bytes(submission.body), idempotency_key=str(submission.idempotency_key))
    lease_over = timezone.now() - timedelta(seconds=1)
    Submission.objects.filter(pk=submission.pk).update(
        state=State.SENDING,
        attempts=1,
        first_attempt_at=lease_over - timedelta(minutes=1),
        sending_until=lease_over,
        next_attempt_at=lease_over,
    )

    assert submissions_sweep() == [submission.pk]

    reload(submission)
    assert submission.state == State.RETRYING and submission.reason_code == Reason.INTERRUPTED
    assert dispatched == [(submission.pk, None)]
    assert submission_send(submission.pk) == State.SENT
    ends_sent_once(submission)
    assert submission.reference_id == answer.json()["referenceId"]


def test_a_send_whose_worker_died_past_the_keys_lifetime_is_held(submission, dispatched, notified):
    lease_over = timezone.now() - timedelta(seconds=1)
    Submission.objects.filter(pk=submission.pk).update(
        state=State.SENDING,
        attempts=1,
        first_attempt_at=timezone.now() - timedelta(days=2),
        sending_until=lease_over,
        next_attempt_at=lease_over,
    )

    assert submissions_sweep() == []

    reload(submission)
    assert submission.state == State.HELD and submission.reason_code == Reason.OUTCOME_UNKNOWN
    assert dispatched == [] and notified == [submission.pk]


def test_a_send_still_within_its_lease_is_left_alone(submission, dispatched):
    Submission.objects.filter(pk=submission.pk).update(
        state=State.SENDING, attempts=1, sending_until=timezone.now() + timedelta(seconds=30)
    )
    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now() + timedelta(seconds=30))

    assert submissions_sweep() == [] and dispatched == []


def test_a_lost_task_is_dispatched_again_ever_less_often(submission, dispatched):
    now = timezone.now()
    Submission.objects.filter(pk=submission.pk).update(
        state=State.RETRYING,
        attempts=1,
        next_attempt_at=now - timedelta(minutes=10),
        updated_at=now - timedelta(minutes=10),
    )
    fresh = submitted(ready_draft(submission.invoice.administration, submission.submitted_by), submission.submitted_by)
    dispatched.clear()

    submissions_sweep(stale_after=timedelta(minutes=2))
    submissions_sweep(stale_after=timedelta(minutes=2))

    assert dispatched == [(submission.pk, None)], "a slow broker is not flooded; a fresh one is not stale yet"
    # Last dispatched when 6 minutes overdue, 10 now: not yet (again once 12 minutes overdue)...
    Submission.objects.filter(pk=submission.pk).update(updated_at=now - timedelta(minutes=4))
    assert submissions_sweep(stale_after=timedelta(minutes=2)) == []
    # ...last dispatched when 4 minutes overdue: again now.
    Submission.objects.filter(pk=submission.pk).update(updated_at=now - timedelta(minutes=6))
    assert submissions_sweep(stale_after=timedelta(minutes=2)) == [submission.pk]
    assert fresh.pk not in [pk for pk, _ in dispatched]
    assert submission_send(submission.pk) == State.SENT, "a dispatch of an overdue send is due at once"


def test_the_tasks_send_and_sweep_and_the_sweeper_runs_every_minute(submission, dispatched):
    from portal.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["sweep-submissions"]
    assert entry["schedule"] == 60.0 and entry["task"] in app.tasks

    assert app.tasks["invoicing.tasks.send_submission"].apply(args=(submission.pk,)).get() == State.SENT
    assert app.tasks[entry["task"]].apply().get() == 0
    ends_sent_once(submission)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_the_client_counts_a_5xx_to_a_post_as_an_unknown_outcome_and_to_a_read_as_nothing_done(
    submission, administration, status
):
    client = clearvo.client_for(administration.office)
    exchanges = []
    fail_next("clearvo", operation=POST, when="before", kind="html", status=status)
    fail_next("clearvo", operation="GET /invoices/status", when="before", kind="html", status=status)

    with pytest.raises(clearvo.OutcomeUnknown):
        client.submit(bytes(submission.body), idempotency_key=new_key(), entity_id="x", record=exchanges.append)
    with pytest.raises(clearvo.Unavailable):
        client.status(country="IT", reference_id="IT-20260115-AAAAAA", record=exchanges.append)

    assert [exchange["status_code"] for exchange in exchanges] == [status, status]
