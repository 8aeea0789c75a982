"""The stale-status watchdog: who is told when an invoice stays too long in a status, once per limit.

Time is moved, not waited for: each run is given its `now`, or the submissions' status_since and
mcDeadline are set in the past. The limits are the defaults migration 0010 seeds.
"""

import importlib
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone, translation

from clearfacts_app.activity import describe
from clearfacts_app.models import Activity, Notification, NotificationPreference
from invoicing import watchdog
from invoicing.models import Approval, StatusAlert, StatusLimit, Submission
from invoicing.polling import submissions_poll_due
from invoicing.watchdog import stale_statuses_alert
from portal.celery import app
from tests.factories import make_invoice, make_user
from tests.invoicing.notification_helpers import make_submission, tasks_run_here  # noqa: F401 (a fixture)
from tests.invoicing.polling_helpers import poll_until, sent, stored

State, Clearance = Submission.State, Submission.ClearanceStatus
STALE = Notification.Kind.STATUS_STALE
DEFAULT_LIMITS = importlib.import_module("invoicing.migrations.0010_cockpit_data").DEFAULT_LIMITS


@pytest.fixture(autouse=True)
def limits(db, tasks_run_here):  # noqa: F811
    """The seeded defaults (a transactional test elsewhere may have emptied the table)."""
    for country, status, counted_from, first, second in DEFAULT_LIMITS:
        StatusLimit.objects.update_or_create(
            country=country,
            status=status,
            defaults={"counted_from": counted_from, "first_after": first, "second_after": second},
        )


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """One watchdog run at `now` (default: now), its e-mails sent as the worker would after commit."""

    def run(now=None, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return stale_statuses_alert(now=now, **kwargs)

    return run


def in_status(administration, author, *, country="PL", status=Clearance.PENDING, since, submitter=None, **fields):
    """A followed submission of a new invoice to `country`, in `status` since `since` ago."""
    invoice = make_invoice(administration, author, country=country)
    values = {"state": State.SENT, "clearance_status": status, "status_since": timezone.now() - since}
    return make_submission(invoice, submitter or author, invoice_number=invoice.invoice_number, **(values | fields))


def alerts(submission) -> list[tuple[str, int]]:
    return sorted(StatusAlert.objects.filter(submission=submission).values_list("status", "level"))


def bell(person) -> list[tuple[int, int]]:
    rows = Notification.objects.filter(recipient=person, kind=STALE).order_by("pk")
    return [(row.data["submission"], row.data["level"]) for row in rows]


# --- the limits -----------------------------------------------------------------------------


def test_poland_pending_past_ten_minutes_alerts_once_then_once_more_past_an_hour(administration, member, run):
    submission = in_status(administration, member, since=timedelta(minutes=9))
    assert run() == 0

    later = timezone.now() + timedelta(minutes=2)  # eleven minutes pending
    assert run(later) == 1
    assert run(later + timedelta(minutes=1)) == 0  # the next tick
    assert alerts(submission) == [("PENDING", 1)]
    assert bell(member) == [(submission.pk, 1)]
    assert len(mail.outbox) == 1

    assert run(timezone.now() + timedelta(minutes=30)) == 0
    assert run(timezone.now() + timedelta(minutes=52)) == 1  # past the hour
    assert run(timezone.now() + timedelta(hours=5)) == 0
    assert alerts(submission) == [("PENDING", 1), ("PENDING", 2)]
    assert bell(member) == [(submission.pk, 1), (submission.pk, 2)]
    assert len(mail.outbox) == 2
    alert = StatusAlert.objects.get(submission=submission, level=2)
    assert (alert.limit, alert.since) == (timedelta(hours=1), submission.status_since)


def test_italy_pending_after_eleven_minutes_is_nothing_its_limit_is_two_days(administration, member, run):
    submission = in_status(administration, member, country="IT", since=timedelta(minutes=11))

    assert run() == 0
    assert run(timezone.now() + timedelta(hours=47)) == 0
    assert run(timezone.now() + timedelta(hours=48)) == 1
    assert alerts(submission) == [("PENDING", 1)]


def test_a_countrys_own_row_wins_over_the_row_for_every_country(administration, member, run):
    italy = in_status(administration, member, country="IT", since=timedelta(hours=5))  # IT 48 h, not the 4 h
    spain = in_status(administration, member, country="ES", since=timedelta(hours=5))  # the row for every country
    germany = in_status(administration, member, country="DE", since=timedelta(hours=2))
    StatusLimit.objects.create(country="DE", status="PENDING", first_after=timedelta(hours=1))

    assert run() == 2

    assert alerts(italy) == []
    assert alerts(spain) == [("PENDING", 1)]
    assert alerts(germany) == [("PENDING", 1)]
    # Germany's own row has no second alert: the 24 h of the row for every country do not apply.
    assert run(timezone.now() + timedelta(days=2)) == 2  # Spain's second, Italy's first
    assert alerts(germany) == [("PENDING", 1)]
    assert alerts(spain) == [("PENDING", 1), ("PENDING", 2)]
    assert alerts(italy) == [("PENDING", 1)]


def test_undelivered_alerts_three_days_then_one_day_before_the_mc_deadline(administration, member, run):
    deadline = timezone.now() + timedelta(days=8)
    submission = in_status(
        administration,
        member,
        country="IT",
        status=Clearance.UNDELIVERED,
        since=timedelta(days=2),
        mc_deadline=deadline,
    )

    assert run(deadline - timedelta(days=3, minutes=1)) == 0
    assert run(deadline - timedelta(days=3)) == 1
    assert run(deadline - timedelta(days=2)) == 0
    assert run(deadline - timedelta(days=1)) == 1
    assert run(deadline - timedelta(hours=2)) == 0
    assert alerts(submission) == [("UNDELIVERED", 1), ("UNDELIVERED", 2)]
    last = Notification.objects.filter(recipient=member, kind=STALE).latest("pk")
    assert last.data == {
        "invoice": submission.invoice_id,
        "number": submission.invoice_number,
        "submission": submission.pk,
        "status": "UNDELIVERED",
        "level": 2,
        "since": submission.status_since.isoformat(),
        "mc_deadline": deadline.isoformat(),
    }
    assert "still has not reached the buyer" in mail.outbox[-1].subject


def test_undelivered_counted_from_the_status_when_its_row_says_so(administration, member, run):
    StatusLimit.objects.filter(country="IT", status="UNDELIVERED").update(
        counted_from=StatusLimit.CountedFrom.STATUS, first_after=timedelta(hours=6), second_after=None
    )
    far = timezone.now() + timedelta(days=9)
    submission = in_status(
        administration, member, country="IT", status=Clearance.UNDELIVERED, since=timedelta(hours=7), mc_deadline=far
    )

    assert run() == 1
    assert run(far) == 0  # no second limit
    assert alerts(submission) == [("UNDELIVERED", 1)]


def test_a_send_clearvo_has_not_confirmed_for_thirty_minutes(administration, member, run):
    retrying = in_status(administration, member, state=State.RETRYING, status="", since=timedelta(minutes=31))
    queued = in_status(administration, member, state=State.QUEUED, status="", since=timedelta(minutes=29))
    held = in_status(administration, member, state=State.HELD, status="", since=timedelta(hours=5))

    assert run() == 1

    assert alerts(retrying) == [("SUBMITTING", 1)]
    assert alerts(queued) == alerts(held) == []
    assert run(timezone.now() + timedelta(hours=4)) == 2  # retrying's second, queued's first
    assert alerts(retrying) == [("SUBMITTING", 1), ("SUBMITTING", 2)]
    assert "Clearvo has not confirmed invoice" in mail.outbox[0].subject


def test_finished_or_moved_on_submissions_get_nothing(administration, member, run):
    in_status(administration, member, status=Clearance.ACCEPTED, terminal=True, since=timedelta(days=3))
    in_status(administration, member, status=Clearance.REJECTED, terminal=True, since=timedelta(days=3))
    in_status(administration, member, state=State.REFUSED, status="", since=timedelta(days=3))
    in_status(administration, member, state=State.CANCELLED, status="", since=timedelta(days=3))
    pending = in_status(administration, member, since=timedelta(minutes=11))
    assert run() == 1

    # The authority decided before the second limit: no second alert, ever.
    Submission.objects.filter(pk=pending.pk).update(clearance_status=Clearance.ACCEPTED, terminal=True)
    assert run(timezone.now() + timedelta(days=10)) == 0
    assert StatusAlert.objects.count() == 1 and len(mail.outbox) == 1


def test_past_both_limits_at_once_tells_the_second_alone(administration, member, run):
    """The watchdog was down, or a limit was shortened: one alert, not two at once."""
    submission = in_status(administration, member, since=timedelta(hours=2))

    assert run() == 1
    assert run() == 0
    assert alerts(submission) == [("PENDING", 2)]
    assert bell(member) == [(submission.pk, 2)]


def test_a_run_raises_a_bounded_batch_and_the_next_run_the_rest(administration, member, run):
    stuck = [in_status(administration, member, since=timedelta(minutes=11 + n)) for n in range(3)]

    assert run(batch=2) == 2
    assert run(batch=2) == 1
    assert run(batch=2) == 0
    assert [alerts(submission) for submission in stuck] == [[("PENDING", 1)]] * 3


def test_a_limit_changed_in_the_admin_counts_from_the_next_run(admin_client, administration, member, run):
    submission = in_status(administration, member, since=timedelta(minutes=15))
    poland = StatusLimit.objects.get(country="PL", status="PENDING")

    response = admin_client.post(
        f"/admin/invoicing/statuslimit/{poland.pk}/change/",
        {
            "country": "PL",
            "status": "PENDING",
            "counted_from": "status",
            "first_after": "0:20:00",
            "second_after": "2:00:00",
        },
    )

    assert response.status_code == 302
    assert run() == 0
    assert run(timezone.now() + timedelta(minutes=6)) == 1
    assert alerts(submission) == [("PENDING", 1)]
    assert StatusAlert.objects.get().limit == timedelta(minutes=20)


def test_the_cost_of_a_run_follows_the_submissions_in_flight(administration, member, django_assert_num_queries):
    stored(administration, member, 2000)  # accepted ones, and pending ones that just began
    levels = sum(2 if limit.second_after else 1 for limit in StatusLimit.objects.all())

    with django_assert_num_queries(1 + levels):  # the limits, then one look per level
        assert stale_statuses_alert() == 0

    poland = StatusLimit.objects.get(country="PL", status="PENDING")
    level = watchdog._Level(poland, 1, poland.first_after)
    sql, params = watchdog._stale(level, [poland], timezone.now()).values_list("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE invoicing_submission")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "submission_stale_idx" in plan, plan


# --- who is told, and how --------------------------------------------------------------------


@pytest.fixture
def people(office, administration, member):
    """The invoice's author (member, English), the approver of the submitted version (Dutch), its
    assignee (French) and the submitter."""
    return {
        "author": member,
        "approver": make_user(office, administrations=[administration], name="Sara Wouters", locale="nl-BE"),
        "assignee": make_user(office, administrations=[administration], name="Julie Lambert", locale="fr-BE"),
        "submitter": make_user(office, administrations=[administration], name="Piet Janssens"),
    }


def stuck_for(people, administration, **fields):
    submission = in_status(
        administration, people["author"], submitter=people["submitter"], since=timedelta(minutes=11), **fields
    )
    invoice = submission.invoice
    Approval.objects.create(invoice=invoice, invoice_version=submission.invoice_version, approver=people["approver"])
    invoice.assignee = people["assignee"]
    invoice.save(update_fields=["assignee"])
    return submission


def test_author_approver_assignee_and_submitter_each_get_one_bell_row_and_one_email_in_their_language(
    people, administration, office, run
):
    other_approver = make_user(office, administrations=[administration], name="Oud Goedkeurder")
    submission = stuck_for(people, administration)
    # Whoever approved another version than the one sent does not answer for it.
    other_version = submission.invoice_version + 1
    Approval.objects.create(invoice=submission.invoice, invoice_version=other_version, approver=other_approver)

    run()
    run()

    for person in people.values():
        assert bell(person) == [(submission.pk, 1)], person
    assert bell(other_approver) == []
    assert sorted(message.to[0] for message in mail.outbox) == sorted(person.email for person in people.values())
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    number = submission.invoice_number
    assert subjects[people["author"].email].startswith(f"The tax authority has not decided on invoice {number}")
    assert subjects[people["approver"].email].startswith("De belastingadministratie heeft sinds")
    assert number in subjects[people["approver"].email]
    assert subjects[people["assignee"].email].startswith("L'administration fiscale ne s'est pas prononcée")
    row = Notification.objects.filter(recipient=people["author"]).get()
    assert row.actor is None and row.url.endswith(f"/invoices/{submission.invoice_id}/")


def test_nobody_who_cannot_see_the_administration_is_told(people, administration, outsider, office, run):
    without_access = make_user(office, name="Tom Claes")
    submission = stuck_for(people, administration)
    submission.invoice.assignee = outsider
    submission.invoice.save(update_fields=["assignee"])
    Approval.objects.filter(invoice=submission.invoice).update(approver=without_access)

    assert run() == 1

    assert bell(outsider) == bell(without_access) == []
    assert {message.to[0] for message in mail.outbox} == {people["author"].email, people["submitter"].email}


def test_with_the_clearance_queue_switch_off_the_bell_only(people, administration, run):
    NotificationPreference.objects.create(user=people["approver"], cockpit=False)
    submission = stuck_for(people, administration)

    run()

    assert bell(people["approver"]) == [(submission.pk, 1)]
    assert people["approver"].email not in {message.to[0] for message in mail.outbox}
    assert len(mail.outbox) == 3


def test_each_alert_is_in_the_audit_log_in_every_language(administration, member, run):
    submission = in_status(administration, member, since=timedelta(minutes=11))

    run()

    row = Activity.objects.get(action="invoice.status_stale")
    assert (row.administration, row.actor) == (administration, None)
    assert row.data == {
        "invoice": submission.invoice_id,
        "invoice_number": submission.invoice_number,
        "submission": submission.pk,
        "status": "PENDING",
        "level": 1,
        "limit": 600,
    }
    said = {}
    for language in ("en", "nl", "fr"):
        with translation.override(language):
            said[language] = describe(row)
    assert said["en"] == (
        f"Alert 1: the tax authority had not decided on invoice {submission.invoice_number} within its limit"
    )
    assert len(set(said.values())) == 3 and all(submission.invoice_number in text for text in said.values())


def test_beat_runs_the_task_every_minute(settings, administration, member):
    submission = in_status(administration, member, since=timedelta(minutes=11))
    entry = settings.CELERY_BEAT_SCHEDULE["watch-stale-statuses"]

    assert entry["schedule"] == 60.0 and entry["task"] == "invoicing.watchdog_tasks.watch_stale_statuses"
    assert entry["task"] in app.tasks
    assert app.tasks[entry["task"]].apply().get() == 1
    assert alerts(submission) == [("PENDING", 1)]


# --- two runs at once ------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one writer at a time: no race to show")
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_raise_each_alert_once(administration, member, monkeypatch):
    stuck = [in_status(administration, member, since=timedelta(minutes=11)) for _ in range(6)]
    started = threading.Barrier(2)
    telling = watchdog._tell

    def slow_tell(submission, alert):  # holds the row a while, so the other run meets it
        telling(submission, alert)
        threading.Event().wait(0.05)

    monkeypatch.setattr(watchdog, "_tell", slow_tell)
    raised, errors = [], []

    def one_run():
        try:
            started.wait()
            raised.append(stale_statuses_alert())
        except Exception as error:  # a run that fails on the other's alert is a failure too
            errors.append(error)
        finally:
            connection.close()

    runs = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()

    assert errors == [] and len(raised) == 2 and sum(raised) == 6
    assert StatusAlert.objects.count() == 6
    assert sorted(bell(member)) == sorted((submission.pk, 1) for submission in stuck)
    assert Activity.objects.filter(action="invoice.status_stale").count() == 6


# --- with the real poller --------------------------------------------------------------------


@pytest.fixture
def sandbox(portal, settings):
    from sandbox.clearvo.seed import seed as seed_clearvo

    seed_clearvo()
    settings.SANDBOX_TIME_FACTOR = 300
    settings.SANDBOX_FAULT_RATE = 0.0
    settings.SANDBOX_LATENCY_MS = 0
    return settings


@pytest.mark.slow
def test_a_real_poll_to_undelivered_moves_status_since_and_the_deadline_alerts_follow(
    sandbox, administration, member, django_capture_on_commit_callbacks
):
    submission = sent(administration, member, "IT", "-UNDELIVERED")
    long_ago = timezone.now() - timedelta(days=3)
    Submission.objects.filter(pk=submission.pk).update(status_since=long_ago)
    assert (submission.clearance_status, submission.terminal) == ("PENDING", False)

    undelivered = poll_until(
        lambda: Submission.objects.filter(pk=submission.pk, clearance_status="UNDELIVERED").first(),
        poll=submissions_poll_due,
    )

    assert undelivered.status_since > long_ago + timedelta(days=2)
    deadline = undelivered.mc_deadline
    assert deadline is not None and not undelivered.terminal

    def run(now):
        with django_capture_on_commit_callbacks(execute=True):
            return stale_statuses_alert(now=now)

    # Three days pending before it was undelivered is past Italy's 48 h, but it is no longer pending.
    assert run(deadline - timedelta(days=4)) == 0
    assert run(deadline - timedelta(days=3)) == 1
    assert run(deadline - timedelta(days=1)) == 1
    assert alerts(undelivered) == [("UNDELIVERED", 1), ("UNDELIVERED", 2)]
    assert bell(member) == [(submission.pk, 1), (submission.pk, 2)]


def test_a_new_stay_in_the_status_counts_its_limits_again(administration, member, run):
    """A person sent a stuck send again (invoicing.submissions.submission_retry restarts status_since):
    if it sticks again, people are told again, once per limit of the new stay."""
    retrying = in_status(administration, member, state=State.RETRYING, status="", since=timedelta(minutes=31))
    assert run() == 1

    restarted = timezone.now()
    Submission.objects.filter(pk=retrying.pk).update(status_since=restarted)
    assert run(restarted + timedelta(minutes=29)) == 0
    assert run(restarted + timedelta(minutes=31)) == 1
    assert run(restarted + timedelta(minutes=32)) == 0

    stays = StatusAlert.objects.filter(submission=retrying, level=1).order_by("since").values_list("since", flat=True)
    assert list(stays)[1] == restarted
    assert bell(member) == [(retrying.pk, 1), (retrying.pk, 1)]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"first_after": timedelta(0)}, "first_after"),
        ({"second_after": timedelta(minutes=5)}, "second_after"),  # before the first, counted from the status
        ({"status": "UNDELIVERED", "counted_from": "deadline", "second_after": timedelta(days=4)}, "second_after"),
        ({"counted_from": "deadline"}, "counted_from"),  # PENDING has no deadline
    ],
)
def test_a_limit_that_could_never_work_is_refused_with_the_reason(db, fields, field):
    limit = StatusLimit(country="HU", status="PENDING", first_after=timedelta(hours=1), second_after=timedelta(hours=2))
    for name, value in fields.items():
        setattr(limit, name, value)
    if limit.counted_from == "deadline" and limit.status == "UNDELIVERED":
        limit.first_after = timedelta(days=3)
    with pytest.raises(ValidationError) as refused:
        limit.full_clean()
    assert field in refused.value.message_dict
