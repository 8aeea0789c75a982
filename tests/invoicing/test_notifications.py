"""The outcome e-mails: to the invoice's author and the submission's submitter, once, in their language.

`submission_outcome_notify` is called (by the outbox and the poller) after the commit that stored an
outcome; the task it dispatches runs here in this process (tests/invoicing/notification_helpers.py)
and mails through Django's test backend (django.core.mail.outbox). The last test runs it in a real
worker process.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.test import override_settings
from django.utils import timezone

from accounts.models import Membership
from clearfacts_app.models import AdministrationAccess
from invoicing import notification_tasks, notifications
from invoicing.models import NotificationSent, NotificationSetting, Outcome, Submission
from invoicing.notification_tasks import submission_outcome_send
from portal.celery import app
from tests.conftest import wait_for_worker, wait_until, worker_args
from tests.factories import make_invoice, make_user
from tests.invoicing.notification_helpers import make_submission, tasks_run_here  # noqa: F401 (a fixture)

State, Clearance = Submission.State, Submission.ClearanceStatus

# How each outcome is stored on a submission by the outbox (REFUSED, HELD) or the poller (the others).
OUTCOMES = {
    Outcome.REFUSED: {
        "state": State.REFUSED,
        "violations": [{"field": "lines[0].taxCode", "message": "Unknown tax code XX"}],
    },
    Outcome.HELD: {"state": State.HELD, "reason_code": "outcome_unknown"},
    Outcome.ACCEPTED: {"state": State.SENT, "clearance_status": Clearance.ACCEPTED, "terminal": True},
    Outcome.REJECTED: {
        "state": State.SENT,
        "clearance_status": Clearance.REJECTED,
        "terminal": True,
        "error": {"source": "SDI", "code": "00001", "message": "Nome file non valido"},
    },
    Outcome.DUPLICATE: {"state": State.SENT, "clearance_status": Clearance.DUPLICATE, "terminal": True},
    Outcome.UNDELIVERED: {
        "state": State.SENT,
        "clearance_status": Clearance.UNDELIVERED,
        "mc_deadline": datetime(2026, 12, 10, 9, 30, tzinfo=UTC),
    },
}


@pytest.fixture
def invoice(administration, member):
    return make_invoice(administration, member, invoice_number="2026-0042")


@pytest.fixture(autouse=True)
def tasks(request):
    if not request.node.get_closest_marker("slow"):  # the slow test has a real worker take them
        request.getfixturevalue("tasks_run_here")


def submission_with(outcome, invoice, submitter) -> Submission:
    return make_submission(invoice, submitter, reference_id="ref-1", **OUTCOMES[outcome])


def notify(submission, capture):
    """What the outbox and the poller do: call the contract after their commit."""
    with capture(execute=True):
        notifications.submission_outcome_notify(submission.pk)


def test_a_pollers_write_tells_each_of_its_submissions_outcome_with_one_task(
    administration, member, owner, django_capture_on_commit_callbacks, monkeypatch
):
    accepted = submission_with(Outcome.ACCEPTED, make_invoice(administration, member, invoice_number="A-1"), owner)
    rejected = submission_with(Outcome.REJECTED, make_invoice(administration, member, invoice_number="A-2"), member)
    dispatched = []
    monkeypatch.setattr(
        notification_tasks.submission_outcomes_send, "delay_on_commit", lambda *args: dispatched.append(args)
    )

    with django_capture_on_commit_callbacks(execute=True):
        notifications.submissions_outcome_notify([rejected.pk, accepted.pk])

    assert dispatched == [([(accepted.pk, Outcome.ACCEPTED), (rejected.pk, Outcome.REJECTED)],)]
    assert notification_tasks.submission_outcomes_send.apply(args=dispatched[0]).get() == 3
    assert sorted(message.to[0] for message in mail.outbox) == sorted([member.email, owner.email, member.email])
    assert notification_tasks.submission_outcomes_send.apply(args=dispatched[0]).get() == 0  # delivered twice


def mails_to(address) -> list:
    return [message for message in mail.outbox if message.to == [address]]


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_each_outcome_emails_the_author_and_the_submitter_once_with_a_link_to_the_invoice(
    outcome, invoice, member, owner, administration, django_capture_on_commit_callbacks
):
    submission = submission_with(outcome, invoice, owner)

    notify(submission, django_capture_on_commit_callbacks)

    assert sorted(message.to[0] for message in mail.outbox) == sorted([member.email, owner.email])
    link = f"{settings.SITE_URL}/administrations/{administration.company_number}/invoices/{invoice.pk}/"
    for message in mail.outbox:
        assert "2026-0042" in message.subject and administration.name in message.subject
        assert link in message.body and f"{settings.SITE_URL}/account/notifications/" in message.body
        assert administration.name in message.body and str(Outcome(outcome).label) in message.body
        assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert set(
        NotificationSent.objects.filter(submission=submission).values_list("outcome", "recipient", "status")
    ) == {(outcome, member.pk, "sent"), (outcome, owner.pk, "sent")}


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_a_second_call_or_a_retried_task_sends_nothing_more(
    outcome, invoice, member, owner, django_capture_on_commit_callbacks
):
    submission = submission_with(outcome, invoice, owner)
    notify(submission, django_capture_on_commit_callbacks)

    notify(submission, django_capture_on_commit_callbacks)  # a repeated poll
    submission_outcome_send.apply(args=[submission.pk, outcome])  # the task delivered twice

    assert len(mail.outbox) == 2


def test_an_author_who_submitted_the_invoice_gets_one_email(invoice, member, django_capture_on_commit_callbacks):
    notify(submission_with(Outcome.ACCEPTED, invoice, member), django_capture_on_commit_callbacks)

    assert [message.to for message in mail.outbox] == [[member.email]]


def test_each_person_reads_it_in_their_own_language(
    invoice, member, owner, viewer, administration, django_capture_on_commit_callbacks
):
    member.locale, owner.locale = "nl-BE", "fr-BE"
    member.save()
    owner.save()
    rejected = submission_with(Outcome.REJECTED, invoice, owner)

    notify(rejected, django_capture_on_commit_callbacks)

    (dutch,), (french,) = mails_to(member.email), mails_to(owner.email)
    assert dutch.subject == f"Factuur 2026-0042 van {administration.name} is geweigerd"
    assert "De belastingadministratie heeft de factuur geweigerd." in dutch.body
    assert "Reden opgegeven door de belastingadministratie: SDI 00001: Nome file non valido" in dutch.body
    assert "Open de factuur:" in dutch.body and dutch.extra_headers["Content-Language"] == "nl"
    assert french.subject == f"La facture 2026-0042 de {administration.name} est refusée"
    assert "L'administration fiscale a refusé la facture." in french.body
    assert "Motif donné par l'administration fiscale : SDI 00001: Nome file non valido" in french.body
    assert NotificationSent.objects.get(recipient=member).language == "nl"


def test_a_locale_the_portal_does_not_speak_or_none_gets_the_site_language(
    invoice, member, owner, django_capture_on_commit_callbacks
):
    member.locale, owner.locale = "de-DE", ""
    member.save()
    owner.save()

    notify(submission_with(Outcome.ACCEPTED, invoice, owner), django_capture_on_commit_callbacks)

    assert settings.LANGUAGE_CODE == "en"
    assert {message.subject for message in mail.outbox} == {
        f"Invoice 2026-0042 of {invoice.administration.name} is accepted"
    }


def test_the_dutch_and_french_subject_of_every_outcome_is_translated(invoice, member, owner):
    for language, word in (("nl", "factuur"), ("fr", "facture")):
        for outcome in OUTCOMES:
            submission = submission_with(outcome, invoice, owner)
            message = notifications.outcome_message(submission, outcome, member, language)
            english = notifications.outcome_message(submission, outcome, member, "en")
            assert word in message.subject.lower(), (language, outcome, message.subject)
            assert message.body != english.body and "Invoice:" not in message.body, (language, outcome)
            submission.state = State.CANCELLED  # the next one may be active
            submission.save()


def test_a_refusal_lists_what_clearvo_found_on_the_field_it_names(invoice, member, django_capture_on_commit_callbacks):
    submission = submission_with(Outcome.REFUSED, invoice, member)
    submission.violations.append({"field": "buyer.taxId", "message": "Invalid VAT number"})
    submission.violations.append({"field": "", "message": "Body is not valid JSON"})
    submission.save()

    notify(submission, django_capture_on_commit_callbacks)

    (message,) = mail.outbox
    assert "- Line 1, VAT category: Unknown tax code XX" in message.body
    assert "- Buyer VAT or tax number: Invalid VAT number" in message.body
    assert "- Body is not valid JSON" in message.body
    assert "is refused by Clearvo" in message.subject


def test_undelivered_gives_the_deadline_and_a_later_acceptance_is_told_too(
    invoice, member, owner, django_capture_on_commit_callbacks
):
    submission = submission_with(Outcome.UNDELIVERED, invoice, owner)
    notify(submission, django_capture_on_commit_callbacks)
    assert "keeps trying until 10 December 2026 10:30." in mails_to(member.email)[0].body  # Brussels time

    submission.clearance_status, submission.terminal = Clearance.ACCEPTED, True
    submission.save()
    notify(submission, django_capture_on_commit_callbacks)

    assert [message.subject.rsplit(" ", 1)[-1] for message in mails_to(member.email)] == ["buyer", "accepted"]
    assert len(mail.outbox) == 4


def test_the_outcome_is_the_one_the_submission_had_when_notify_was_called(
    invoice, member, django_capture_on_commit_callbacks
):
    """An UNDELIVERED that turned ACCEPTED before the task ran still gets its UNDELIVERED e-mail."""
    submission = submission_with(Outcome.UNDELIVERED, invoice, member)
    submission.events.create(status="UNDELIVERED", at=timezone.now())
    submission.clearance_status = Clearance.ACCEPTED
    submission.save()

    sent = submission_outcome_send.apply(args=[submission.pk, Outcome.UNDELIVERED]).get()

    assert sent == 1 and "could not be delivered" in mail.outbox[0].subject


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"state": State.QUEUED}, "not sent yet"),
        ({"state": State.RETRYING}, "still being sent"),
        ({"state": State.SENT, "clearance_status": Clearance.PENDING}, "the authority has not decided"),
        ({"state": State.FAILED, "reason_code": "conflict"}, "a defect, shown to staff"),
        ({"state": State.CANCELLED}, "cancelled"),
    ],
)
def test_a_submission_without_an_outcome_emails_nobody(
    fields, why, invoice, member, django_capture_on_commit_callbacks
):
    notify(make_submission(invoice, member, **fields), django_capture_on_commit_callbacks)

    assert mail.outbox == [], why
    assert not NotificationSent.objects.exists()


def test_a_held_submission_that_a_person_already_sent_again_is_not_emailed_as_held(invoice, member):
    submission = make_submission(invoice, member, state=State.SENT, clearance_status=Clearance.PENDING)

    assert submission_outcome_send.apply(args=[submission.pk, Outcome.HELD]).get() == 0
    assert mail.outbox == []


def test_nobody_who_turned_that_kind_off_is_emailed_and_the_decision_holds(
    client, invoice, member, owner, django_capture_on_commit_callbacks
):
    client.force_login(member)
    client.post("/account/notifications/", {"rejected": "on", "held": "on"})  # accepted: off
    accepted = submission_with(Outcome.ACCEPTED, invoice, owner)

    notify(accepted, django_capture_on_commit_callbacks)
    NotificationSetting.objects.filter(user=member).update(accepted=True)  # turned on again later
    notify(accepted, django_capture_on_commit_callbacks)

    assert [message.to for message in mail.outbox] == [[owner.email]]
    assert NotificationSent.objects.get(recipient=member).status == NotificationSent.Status.OFF


@pytest.mark.parametrize(
    ("kind", "outcomes_off"),
    [
        ("accepted", {Outcome.ACCEPTED}),
        ("rejected", {Outcome.REJECTED, Outcome.REFUSED, Outcome.DUPLICATE}),
        ("held", {Outcome.HELD, Outcome.UNDELIVERED}),
    ],
)
def test_each_kind_turns_off_its_outcomes_only(kind, outcomes_off, invoice, member, django_capture_on_commit_callbacks):
    NotificationSetting.objects.create(user=member, **{kind: False})
    emailed = set()
    for outcome in OUTCOMES:
        submission = submission_with(outcome, invoice, member)
        notify(submission, django_capture_on_commit_callbacks)
        if NotificationSent.objects.filter(submission=submission, status=NotificationSent.Status.SENT).exists():
            emailed.add(outcome)
        submission.state = State.CANCELLED
        submission.save()

    assert emailed == set(OUTCOMES) - outcomes_off


def test_nobody_outside_the_administration_is_emailed(
    invoice, member, owner, office, other_administration, django_capture_on_commit_callbacks
):
    """The author lost access to the administration, the submitter left the office: nobody is told."""
    AdministrationAccess.objects.filter(user=member).delete()
    Membership.objects.filter(user=owner).delete()

    notify(submission_with(Outcome.REJECTED, invoice, owner), django_capture_on_commit_callbacks)

    assert mail.outbox == [] and not NotificationSent.objects.exists()


def test_an_inactive_person_or_one_without_an_address_is_not_emailed(
    invoice, member, office, administration, django_capture_on_commit_callbacks
):
    no_address = make_user(office, administrations=[administration], email="")
    member.is_active = False
    member.save()

    notify(submission_with(Outcome.ACCEPTED, invoice, no_address), django_capture_on_commit_callbacks)

    assert mail.outbox == []


class FailingOnce(EmailBackend):
    """The test backend, but the mail server refuses the first message to FAILING_FOR (then recovers)."""

    failing_for: set = set()

    def send_messages(self, messages):
        for message in messages:
            if set(message.to) & self.failing_for:
                self.failing_for.difference_update(message.to)
                raise ConnectionRefusedError("the mail server is down")
        return super().send_messages(messages)


@override_settings(EMAIL_BACKEND=f"{__name__}.FailingOnce")
@pytest.mark.parametrize("failing", ["author", "submitter"])
def test_a_failed_send_is_retried_and_nobody_gets_it_twice(
    failing, invoice, member, owner, django_capture_on_commit_callbacks
):
    FailingOnce.failing_for = {member.email if failing == "author" else owner.email}
    app.conf.task_eager_propagates = (
        False  # as in a worker: the error makes the task retry (tasks_run_here restores it)
    )
    submission = submission_with(Outcome.ACCEPTED, invoice, owner)

    notify(submission, django_capture_on_commit_callbacks)  # the task's retry runs at once here

    assert sorted(message.to[0] for message in mail.outbox) == sorted([member.email, owner.email])
    assert NotificationSent.objects.filter(status=NotificationSent.Status.SENT).count() == 2


def test_a_send_whose_worker_died_is_taken_over_once_its_lease_ran_out(invoice, member):
    submission = submission_with(Outcome.ACCEPTED, invoice, member)
    claim = NotificationSent.objects.create(
        submission=submission, outcome=Outcome.ACCEPTED, recipient=member, sending_until=timezone.now() + timedelta(1)
    )
    assert submission_outcome_send.apply(args=[submission.pk, Outcome.ACCEPTED]).get() == 0  # still being sent

    NotificationSent.objects.filter(pk=claim.pk).update(sending_until=timezone.now() - timedelta(seconds=1))

    assert submission_outcome_send.apply(args=[submission.pk, Outcome.ACCEPTED]).get() == 1
    assert submission_outcome_send.apply(args=[submission.pk, Outcome.ACCEPTED]).get() == 0
    assert NotificationSent.objects.get().status == NotificationSent.Status.SENT and len(mail.outbox) == 1


@pytest.mark.slow
def test_a_worker_process_sends_the_emails(process_env, start_process, administration, member, owner):
    """Dispatched after the commit, taken by a real worker, which registers the task and marks it sent.

    The worker mails to its console (the embedded default, DEBUG): its output shows the message.
    """
    worker = start_process(worker_args("notify"), process_env, name="worker")
    wait_for_worker(worker)
    submission = submission_with(Outcome.ACCEPTED, make_invoice(administration, member), owner)

    notifications.submission_outcome_notify(submission.pk)

    sent = NotificationSent.objects.filter(submission=submission, status=NotificationSent.Status.SENT)
    wait_until(lambda: sent.count() == 2, timeout=60, message="the worker to send both e-mails", process=worker)
    output = worker.output()
    assert f"To: {member.email}" in output and f"To: {owner.email}" in output
