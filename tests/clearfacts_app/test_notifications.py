"""`notify`: who gets a row in the bell, once per cause, and who also gets an e-mail, once.

The e-mail task runs in this process (tests/invoicing/notification_helpers.py) and mails through
Django's test backend (django.core.mail.outbox).
"""

import smtplib
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from clearfacts_app import notifications
from clearfacts_app.documents import documents_sweep
from clearfacts_app.models import AdministrationAccess, Document, Notification, NotificationPreference
from clearfacts_app.notifications import notify
from clearfacts_app.roles import Role
from clearfacts_app.tasks import send_notification_emails
from portal.celery import app
from tests.factories import make_document, make_user
from tests.invoicing.notification_helpers import tasks_run_here  # noqa: F401 (a fixture)

Kind, Emailed = Notification.Kind, Notification.Emailed
INVOICE_URL = "/administrations/0000000097/invoices/7/"


@pytest.fixture(autouse=True)
def tasks(tasks_run_here):  # noqa: F811
    pass


@pytest.fixture
def told(django_capture_on_commit_callbacks):
    """Calls notify as a service does (in its transaction) and lets the commit's task run."""

    def call(**arguments):
        arguments = {"kind": Kind.REVIEW_ASSIGNED, "key": "invoice:7:v1", "url": INVOICE_URL} | arguments
        arguments.setdefault("data", {"invoice": 7, "number": "2026-0042"})
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return notify(**arguments)

    return call


def rows_of(person):
    return list(Notification.objects.filter(recipient=person))


def test_only_people_who_can_read_the_administration_are_notified_never_the_actor(
    told, administration, owner, member, viewer, colleague_without_access, outsider, other_administration
):
    client_user = make_user(
        administration.office,
        administrations=[administration],
        kind=Membership.Kind.CLIENT,
        administration_role=Role.VIEWER,
        name="Ann Client",
    )

    written = told(
        recipients=[owner, member, viewer, client_user, colleague_without_access, outsider, None],
        administration=administration,
        actor=owner,
    )

    assert {row.recipient for row in written} == {member, viewer, client_user}
    assert rows_of(owner) == rows_of(colleague_without_access) == rows_of(outsider) == []
    row = rows_of(member)[0]
    assert (row.administration, row.actor, row.kind, row.url) == (
        administration,
        owner,
        Kind.REVIEW_ASSIGNED,
        INVOICE_URL,
    )


def test_a_withdrawn_grant_or_a_deactivated_person_gets_nothing(told, administration, owner, member, viewer):
    AdministrationAccess.objects.filter(user=member).delete()
    viewer.is_active = False
    viewer.save()

    assert told(recipients=[member, viewer], administration=administration, actor=owner) == []


def test_each_cause_is_told_once_per_person_and_kind(told, administration, owner, member):
    first = told(recipients=[member], administration=administration, actor=owner)
    again = told(recipients=[member, member], administration=administration, actor=owner)
    mentioned = told(recipients=[member], administration=administration, actor=owner, kind=Kind.MENTIONED)

    assert len(first) == 1 and again == [] and len(mentioned) == 1
    assert Notification.objects.filter(recipient=member).count() == 2
    assert len(mail.outbox) == 2


def test_notify_needs_the_transaction_of_the_change(administration, member, django_db_blocker):
    connection = transaction.get_connection()
    saved = connection.in_atomic_block
    connection.in_atomic_block = False  # as outside the test's own transaction
    try:
        with pytest.raises(RuntimeError):
            notify(recipients=[member], administration=administration, kind=Kind.MENTIONED, key="comment:1")
    finally:
        connection.in_atomic_block = saved


def test_notify_costs_the_same_queries_for_many_recipients(
    told, administration, owner, django_assert_max_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    people = [make_user(administration.office, administrations=[administration], name=f"P {n}") for n in range(12)]
    monkeypatch.setattr(send_notification_emails, "delay_on_commit", lambda ids: None)

    with transaction.atomic(), django_assert_max_num_queries(4):  # readers, e-mail wishes, insert, read back
        written = notify(
            recipients=people, administration=administration, kind=Kind.MENTIONED, key="comment:3", actor=owner
        )

    assert len(written) == 12


def test_the_email_goes_once_with_the_link_and_how_to_turn_it_off(told, administration, owner, member):
    written = told(recipients=[member], administration=administration, actor=owner)

    [message] = mail.outbox
    assert message.to == [member.email]
    assert message.subject == f"Els Dupont asked you to review invoice 2026-0042 of {administration.name}."
    assert f"{settings.SITE_URL}{INVOICE_URL}" in message.body
    assert f"{settings.SITE_URL}/account/notifications/" in message.body
    assert "turn these e-mails off" in message.body
    assert Notification.objects.get(pk=written[0].pk).emailed == Emailed.SENT

    # The task delivered again (a broker's redelivery, a retry) sends nothing more.
    assert send_notification_emails.apply(args=[[written[0].pk]]).get() == 0
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("locale", "subject"),
    [
        ("nl-BE", "Els Dupont vraagt u factuur 2026-0042 van Bakkerij Janssens BV na te kijken."),
        ("fr-BE", "Els Dupont vous demande de vérifier la facture 2026-0042 de Bakkerij Janssens BV."),
        ("en", "Els Dupont asked you to review invoice 2026-0042 of Bakkerij Janssens BV."),
        ("de-DE", "Els Dupont asked you to review invoice 2026-0042 of Bakkerij Janssens BV."),
    ],
)
def test_the_email_is_in_the_recipients_language_not_the_actors(told, administration, owner, member, locale, subject):
    owner.locale, member.locale = "fr-BE", locale
    owner.save()
    member.save()

    told(recipients=[member], administration=administration, actor=owner)

    [message] = mail.outbox
    assert message.subject == subject
    assert message.extra_headers["Content-Language"] == notifications.language_for(member)


@pytest.mark.parametrize(
    ("kind", "data", "words"),
    [
        (Kind.MENTIONED, {"comment": 4, "number": "2026-0042", "excerpt": "@Jan kijk je even?"}, "kijk je even"),
        (Kind.MENTIONED, {"comment": 5, "document": 3, "filename": "bon.pdf"}, "document bon.pdf"),
        (Kind.INVOICE_APPROVED, {"invoice": 7, "number": "2026-0042"}, "approved invoice 2026-0042"),
        (Kind.INVOICE_APPROVED, {"invoice": 7, "number": "2026-0042", "version": 3}, "approved version 3 of invoice"),
        (Kind.DOCUMENT_PROBLEM, {"document": 3, "filename": "bon.pdf", "status": "failed"}, "could not be sent"),
    ],
)
def test_each_kind_is_told_in_a_sentence_of_its_own(told, administration, owner, member, kind, data, words):
    told(recipients=[member], administration=administration, actor=owner, kind=kind, data=data)

    [message] = mail.outbox
    assert words in message.body


def test_no_email_when_the_person_turned_that_kind_off_but_the_bell_still_shows_it(
    told, administration, owner, member, viewer
):
    NotificationPreference.objects.create(user=member, review_assigned=False)
    NotificationPreference.objects.create(user=viewer, mentioned=False)

    told(recipients=[member, viewer], administration=administration, actor=owner)

    assert [message.to for message in mail.outbox] == [[viewer.email]]
    assert Notification.objects.get(recipient=member).emailed == Emailed.NO
    assert Notification.objects.get(recipient=viewer).emailed == Emailed.SENT


def test_outcome_kinds_are_not_emailed_here(told, administration, member):
    """Their e-mails are invoicing's (once per person, under the NotificationSetting switches)."""
    told(recipients=[member], administration=administration, kind=Kind.INVOICE_ACCEPTED, key="submission:1:accepted")

    assert mail.outbox == []
    assert Notification.objects.get(recipient=member).emailed == Emailed.NO


def failing_then(monkeypatch, failures: int):
    calls = {"n": 0}
    send = EmailMessage.send

    def flaky(message, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= failures:
            raise smtplib.SMTPServerDisconnected("gone")
        return send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", flaky)
    app.conf.task_eager_propagates = False  # as in a worker: the error makes the task retry (restored after)
    return calls


def test_a_failed_send_is_retried_and_the_email_goes_once(told, administration, owner, member, monkeypatch):
    calls = failing_then(monkeypatch, failures=2)

    written = told(recipients=[member], administration=administration, actor=owner)

    assert calls["n"] == 3 and len(mail.outbox) == 1
    assert Notification.objects.get(pk=written[0].pk).emailed == Emailed.SENT


def test_after_the_last_retry_the_email_is_failed(told, administration, owner, member, monkeypatch):
    calls = failing_then(monkeypatch, failures=100)

    written = told(recipients=[member], administration=administration, actor=owner)

    assert calls["n"] == send_notification_emails.max_retries + 1 and mail.outbox == []
    assert Notification.objects.get(pk=written[0].pk).emailed == Emailed.FAILED
    assert Notification.objects.get(pk=written[0].pk).read_at is None  # still in the bell


def test_a_failure_for_one_person_does_not_keep_the_others_waiting(administration, owner, member, viewer, monkeypatch):
    with transaction.atomic():
        rows = notify(recipients=[member, viewer], administration=administration, kind=Kind.MENTIONED, key="c:9")
    failing_then(monkeypatch, failures=1)

    with pytest.raises(smtplib.SMTPServerDisconnected):
        notifications.notification_emails_send(notification_ids=[row.pk for row in rows], last_attempt=False)

    assert len(mail.outbox) == 1
    assert sorted(Notification.objects.values_list("emailed", flat=True)) == [Emailed.SENT, Emailed.WAITING]
    assert notifications.notification_emails_send(notification_ids=[row.pk for row in rows], last_attempt=False) == 1
    assert len(mail.outbox) == 2


# --- documents held or failed ---


def crashed(document, *, handed_over: bool, crashes: int = 0):
    past = timezone.now() - timedelta(minutes=1)
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.SENDING,
        sending_until=past,
        handed_over_at=past if handed_over else None,
        crashes=crashes,
    )


def test_a_document_held_by_the_sweeper_tells_its_uploader_once_even_if_it_runs_twice(
    administration, member, django_capture_on_commit_callbacks
):
    held = make_document(administration, member, filename="bon.pdf")
    failed = make_document(administration, member, filename="factuur.pdf")
    crashed(held, handed_over=True)
    crashed(failed, handed_over=False, crashes=5)

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            documents_sweep(stale_after=timedelta(minutes=5))

    rows = {row.key: row for row in Notification.objects.filter(recipient=member, kind=Kind.DOCUMENT_PROBLEM)}
    assert set(rows) == {f"document:{held.pk}:held", f"document:{failed.pk}:failed"}
    assert rows[f"document:{held.pk}:held"].url == (
        f"/administrations/{administration.company_number}/documents/{held.pk}/"
    )
    assert sorted(message.subject for message in mail.outbox) == [
        "Document bon.pdf of Bakkerij Janssens BV is held: check it before it is sent again.",
        "Document factuur.pdf of Bakkerij Janssens BV could not be sent to Clearfacts.",
    ]


def test_a_document_that_fails_in_its_task_tells_its_uploader(
    administration, member, django_capture_on_commit_callbacks
):
    from clearfacts_app.documents import document_send

    document = make_document(administration, member, filename="bon.pdf", status=Document.Status.QUEUED)
    Document.objects.filter(pk=document.pk).update(file="documents/gone.pdf")  # its file is missing

    with django_capture_on_commit_callbacks(execute=True):
        assert document_send(document_id=document.pk, last_attempt=False) == Document.Status.FAILED

    row = Notification.objects.get(recipient=member)
    assert (row.kind, row.key, row.actor) == (Kind.DOCUMENT_PROBLEM, f"document:{document.pk}:failed", None)
    [message] = mail.outbox
    assert "bon.pdf" in message.subject


def test_an_email_still_waiting_when_access_is_withdrawn_is_never_sent(
    administration, owner, member, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():  # the task has not run yet
        written = notify(
            recipients=[member, viewer],
            administration=administration,
            kind=Kind.REVIEW_ASSIGNED,
            key="invoice:7:v1",
            actor=owner,
            data={"invoice": 7, "number": "2026-0042"},
            url=INVOICE_URL,
        )
    AdministrationAccess.objects.filter(user=member, administration=administration).delete()

    assert send_notification_emails.apply(args=[[row.pk for row in written]]).get() == 1

    assert [message.to for message in mail.outbox] == [[viewer.email]]
    assert Notification.objects.get(recipient=member).emailed == Emailed.NO
    assert Notification.objects.get(recipient=viewer).emailed == Emailed.SENT
    # Given access again, nothing of it is sent later (the task delivered again).
    AdministrationAccess.objects.create(user=member, administration=administration, role=Role.VIEWER)
    assert send_notification_emails.apply(args=[[row.pk for row in written]]).get() == 0
    assert len(mail.outbox) == 1
