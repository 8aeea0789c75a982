"""The poller's manners, over a real socket against the sandbox: events stored once, nextPollAfter and
Retry-After honoured, failures backed off, a refused key and a passed mcDeadline handed to a person,
and a cost that follows the number due, not the number stored."""

import json
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clearfacts_app.models import Activity
from invoicing import notifications, polling
from invoicing.models import ClearanceEvent, ClearvoAccount, Exchange, Invoice, Submission
from invoicing.polling import submission_poll, submissions_poll_due, submissions_poll_resume
from invoicing.tasks import poll_due_submissions
from sandbox.clearvo.models import InvoiceSubmission
from sandbox.clearvo.seed import seed as seed_clearvo
from sandbox.instrument import fail_next
from sandbox.models import RequestLog, Service
from tests.invoicing.polling_helpers import make_due, poll_until, sent, stored

pytestmark = pytest.mark.slow

STATUS = "GET /invoices/status"


@pytest.fixture
def sandbox(portal, settings):
    """The live sandbox at its real pace (nothing is decided during a test) unless a test speeds it up."""
    seed_clearvo()
    settings.SANDBOX_TIME_FACTOR = 1
    settings.SANDBOX_FAULT_RATE = 0.0
    settings.SANDBOX_LATENCY_MS = 0
    return settings


@pytest.fixture
def notified(monkeypatch):
    calls = []
    monkeypatch.setattr(notifications, "submissions_outcome_notify", calls.extend)
    return calls


def fresh(submission: Submission) -> Submission:
    return Submission.objects.select_related("invoice").get(pk=submission.pk)


def gets(submission: Submission):
    return submission.exchanges.filter(method="GET").order_by("started_at", "pk")


def close_to(moment: datetime, expected: datetime, seconds: float = 2.0) -> bool:
    return abs((moment - expected).total_seconds()) <= seconds


def test_events_are_stored_once_however_often_the_status_is_read(sandbox, administration, member, notified):
    submission = sent(administration, member, "IT")
    for _ in range(3):  # early polls: the sandbox answers its status (up to five) with nothing new
        make_due(submission)
        assert submissions_poll_due() == 1
    assert list(submission.events.values_list("status", flat=True)) == ["PENDING"]
    assert gets(submission).count() == 3 and set(gets(submission).values_list("status_code", flat=True)) == {200}

    sandbox.SANDBOX_TIME_FACTOR = (
        100_000  # decided by now; the next read (forced: nextPollAfter is minutes away) sees it
    )
    make_due(submission)
    poll_until(lambda: fresh(submission).terminal, poll=submissions_poll_due)
    for _ in range(3):
        submission_poll(submission)  # a terminal one is read again only when someone asks

    assert list(submission.events.values_list("status", flat=True)) == ["PENDING", "ACCEPTED"]
    assert ClearanceEvent.objects.filter(submission=submission).count() == 2
    assert Activity.objects.filter(action="invoice.cleared", data__submission=submission.pk).count() == 1
    assert notified == [submission.pk]
    # Every read is in the clearance record, with its query.
    assert gets(submission).count() == fresh(submission).polls
    assert gets(submission).first().path == f"/invoices/status?country=IT&id={submission.reference_id}"


def test_the_pending_event_is_stored_with_its_message_and_time(sandbox, administration, member):
    submission = sent(administration, member, "PL")
    make_due(submission)
    submissions_poll_due()

    event = submission.events.get()
    original = InvoiceSubmission.objects.get(reference_id=submission.reference_id).events.get()
    assert (event.status, event.at, event.message) == ("PENDING", original.at, original.message)


def test_next_poll_after_is_honoured_so_clearvo_never_rate_limits(sandbox, administration, member):
    # A slow SDI decision (28 minutes) at 600 times the pace: 2.8 s, with a nextPollAfter every half second.
    sandbox.SANDBOX_TIME_FACTOR = 600
    submission = sent(administration, member, "IT", "-SLOW")
    first_next = fresh(submission).next_poll_at

    poll_until(lambda: fresh(submission).terminal, poll=submissions_poll_due, timeout=20)

    reads = list(gets(submission))
    assert len(reads) >= 2 and {read.status_code for read in reads} == {200}
    # Each read at or after the nextPollAfter the previous answer gave, never sooner than the floor.
    earliest = first_next
    for read in reads:
        assert read.started_at >= earliest
        answer = read.response_body
        if '"nextPollAfter"' in answer:
            earliest = max(
                datetime.fromisoformat(json.loads(answer)["nextPollAfter"].replace("Z", "+00:00")),
                read.started_at + polling.POLL_FLOOR,
            ) - timedelta(milliseconds=50)
    assert InvoiceSubmission.objects.get(reference_id=submission.reference_id).early_polls == 0
    assert not RequestLog.objects.filter(operation=STATUS, status=429).exists()


def test_retry_after_on_503_is_honoured_and_nothing_else_changes(sandbox, administration, member):
    submission = sent(administration, member, "IT")
    fail_next(Service.CLEARVO, operation=STATUS, kind="retry_later", status=503, retry_after=40)
    make_due(submission)

    assert submissions_poll_due() == 1

    after = fresh(submission)
    assert close_to(after.next_poll_at, timezone.now() + timedelta(seconds=40))
    assert (after.clearance_status, after.terminal, after.invoice.status) == ("PENDING", False, Invoice.Status.PENDING)
    assert after.events.count() == 0  # the POST brought none; the failed read none either
    assert after.reason_code == polling.Reason.CHECK_FAILING
    assert after.reason_params == {"failures": 1, "error": "Unavailable", "status_code": 503}
    assert gets(after).get().status_code == 503
    assert submissions_poll_due() == 0  # not due before Retry-After

    make_due(submission)
    assert submissions_poll_due() == 1
    recovered = fresh(submission)
    assert (recovered.reason_code, recovered.reason_params) == ("", {})
    assert recovered.events.count() == 1


def test_retry_after_of_the_early_poll_rule_is_honoured(sandbox, administration, member):
    """Forced early polls (a person's "check now", over and over) meet Clearvo's 429; its Retry-After wins."""
    submission = sent(administration, member, "IT")
    for _ in range(6):
        make_due(submission)
        submissions_poll_due()

    codes = list(gets(submission).values_list("status_code", flat=True))
    assert codes == [200] * 5 + [429]
    after = fresh(submission)
    sandbox_next = InvoiceSubmission.objects.get(reference_id=submission.reference_id).next_poll_after
    assert close_to(after.next_poll_at, sandbox_next)
    assert after.clearance_status == "PENDING" and after.reason_params["status_code"] == 429


def test_an_unreachable_clearvo_is_backed_off_doubling(sandbox, administration, member):
    submission = sent(administration, member, "IT")
    fail_next(Service.CLEARVO, operation=STATUS, kind="drop", count=2)

    make_due(submission)
    submissions_poll_due()
    first = fresh(submission)
    assert close_to(first.next_poll_at, timezone.now() + polling.RETRY_DELAY)
    make_due(submission)
    submissions_poll_due()
    second = fresh(submission)

    assert close_to(second.next_poll_at, timezone.now() + 2 * polling.RETRY_DELAY)
    assert second.reason_params["failures"] == 2 and second.clearance_status == "PENDING"
    assert [(e.status_code, bool(e.transport_error)) for e in gets(second)] == [(0, True), (0, True)]


def test_an_unreadable_answer_is_read_again_later(sandbox, administration, member):
    submission = sent(administration, member, "IT")
    fail_next(Service.CLEARVO, operation=STATUS, when="after", kind="invalid_json")
    make_due(submission)

    assert submissions_poll_due() == 1

    after = fresh(submission)
    assert after.reason_params["error"] == "AnswerInvalid" and after.events.count() == 0
    assert close_to(after.next_poll_at, timezone.now() + polling.RETRY_DELAY)


def test_a_refused_key_stops_polling_until_the_office_fixes_it(sandbox, office, administration, member):
    submission = sent(administration, member, "IT")
    account = ClearvoAccount.objects.create(office=office, api_key="ck_test_revoked_0000000000000000")
    make_due(submission)

    assert submissions_poll_due() == 1

    stopped = fresh(submission)
    assert (stopped.next_poll_at, stopped.reason_code) == (None, polling.Reason.KEY_REFUSED)
    assert stopped.state == Submission.State.SENT and not stopped.terminal
    assert gets(stopped).get().status_code == 401
    assert Activity.objects.get(action="invoice.status_checks_stopped").data["reason"] == "clearvo-key-refused"
    assert submissions_poll_due() == 0

    account.api_key = sandbox.SANDBOX_CLEARVO_TEST_KEY
    account.save()
    assert submissions_poll_resume(office=office) == 1
    assert submissions_poll_due() == 1
    resumed = fresh(submission)
    assert (resumed.reason_code, resumed.events.count()) == ("", 1)
    assert resumed.next_poll_at > timezone.now()


def test_undelivered_past_its_mc_deadline_waits_for_a_person(sandbox, administration, member, notified, monkeypatch):
    sandbox.SANDBOX_TIME_FACTOR = 300  # UNDELIVERED after a second; the deadline 48 minutes on
    submission = sent(administration, member, "IT", "-UNDELIVERED")
    undelivered = poll_until(
        lambda: Submission.objects.filter(pk=submission.pk, clearance_status="UNDELIVERED").first(),
        poll=submissions_poll_due,
    )
    # Clearvo still says UNDELIVERED when the portal's clock has passed the deadline.
    real_now = timezone.now
    monkeypatch.setattr(polling, "now", lambda: real_now() + (undelivered.mc_deadline - real_now()) + timedelta(1))

    assert submissions_poll_due() == 1

    waiting = fresh(submission)
    assert (waiting.clearance_status, waiting.terminal, waiting.next_poll_at) == ("UNDELIVERED", False, None)
    assert waiting.reason_code == polling.Reason.UNDELIVERED_DEADLINE
    assert waiting.reason_params == {"mc_deadline": undelivered.mc_deadline.isoformat()}
    assert waiting.invoice.status == Invoice.Status.UNDELIVERED
    assert Activity.objects.filter(action="invoice.undelivered_deadline").count() == 1
    assert notified == [submission.pk, submission.pk]
    assert submissions_poll_due() == 0


def test_the_periodic_task_polls_batch_after_batch_until_fewer_are_due(sandbox, administration, member):
    submissions = [sent(administration, member, "IT") for _ in range(7)]
    make_due(*submissions)

    assert poll_due_submissions(batch=3) == 7

    assert Exchange.objects.filter(method="GET").count() == 7
    assert not Submission.objects.filter(next_poll_at__lte=timezone.now()).exists()


def test_the_periodic_task_stops_when_its_time_budget_is_spent(sandbox, administration, member):
    submissions = [sent(administration, member, "IT") for _ in range(5)]
    make_due(*submissions)

    assert poll_due_submissions(batch=2, time_budget=0) == 2
    assert poll_due_submissions(batch=2, time_budget=0) == 2
    assert poll_due_submissions(batch=2, time_budget=0) == 1


def test_only_due_submissions_are_polled_oldest_first(sandbox, administration, member):
    later, soon, due_first, due_second = (sent(administration, member, "IT") for _ in range(4))
    now = timezone.now()
    Submission.objects.filter(pk=later.pk).update(next_poll_at=now + timedelta(minutes=5))
    Submission.objects.filter(pk=soon.pk).update(next_poll_at=now + timedelta(seconds=30))
    Submission.objects.filter(pk=due_first.pk).update(next_poll_at=now - timedelta(seconds=9))
    Submission.objects.filter(pk=due_second.pk).update(next_poll_at=now - timedelta(seconds=3))

    assert submissions_poll_due(batch=1) == 1
    assert [s.pk for s in Submission.objects.filter(polls=1)] == [due_first.pk]
    assert submissions_poll_due(batch=5) == 1
    assert set(Submission.objects.filter(polls=1).values_list("pk", flat=True)) == {due_first.pk, due_second.pk}


def test_a_cancelled_submission_is_not_changed_by_a_poll_in_flight(sandbox, administration, member, monkeypatch):
    submission = sent(administration, member, "IT")
    make_due(submission)
    original = polling._write_changes

    def cancelled_meanwhile(*args, **kwargs):
        Submission.objects.filter(pk=submission.pk).update(state=Submission.State.CANCELLED)
        return original(*args, **kwargs)

    monkeypatch.setattr(polling, "_write_changes", cancelled_meanwhile)
    submissions_poll_due()

    after = fresh(submission)
    assert after.events.count() == 0 and gets(after).count() == 1
    assert after.invoice.status == Invoice.Status.PENDING


def test_with_nothing_due_a_run_is_one_query(db, administration, member, django_assert_num_queries):
    stored(administration, member, 50)  # finished, or due in an hour

    with django_assert_num_queries(1):
        assert submissions_poll_due() == 0
    assert poll_due_submissions() == 0


def due_queries(count: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert submissions_poll_due() == count
    return len(queries)


def test_the_poller_costs_the_same_with_100_or_5000_submissions_stored(
    sandbox, administration, member, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr(polling, "FLUSH_SECONDS", 60)  # one write for the batch, however slow the sandbox
    due = [sent(administration, member, "IT") for _ in range(10)]
    make_due(*due)
    submissions_poll_due()  # their PENDING events are stored: from here on each poll changes nothing
    # The unchanged ones are written with one UPDATE per distinct next check (their nextPollAfter, whole seconds).
    next_checks = len(set(Submission.objects.filter(pk__in=[s.pk for s in due]).values_list("next_poll_at")))
    # Found due, claimed (BEGIN, SELECT, UPDATE, COMMIT), loaded, their events, the office's key,
    # then written (BEGIN, the exchanges, the updates, COMMIT).
    most = 1 + 4 + 1 + 1 + 1 + 3 + next_checks
    stored(administration, member, 90, prefix="A")
    assert Submission.objects.count() == 100

    make_due(*due)
    with django_assert_max_num_queries(most):
        small = due_queries(10)

    stored(administration, member, 4900, prefix="B")
    assert Submission.objects.count() == 5000
    make_due(*due)
    with django_assert_max_num_queries(most):
        large = due_queries(10)

    assert small == large
    assert Exchange.objects.filter(method="GET").count() == 30


def test_the_claim_walks_the_due_index(sandbox, administration, member):
    stored(administration, member, 2000)
    queryset = polling._due(timezone.now()).order_by("next_poll_at").values_list("pk", flat=True)[:100]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE invoicing_submission")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "submission_due_idx" in plan, plan
