"""An invoice's outcome in the bell of its author and submitter: once per outcome, while the
e-mail stays the outcome pipeline's own (exactly one, under the NotificationSetting switches)."""

import pytest
from django.core import mail

from clearfacts_app.models import Notification
from invoicing import notifications
from invoicing.models import NotificationSetting, Outcome, Submission
from invoicing.notification_tasks import submission_outcome_send
from tests.factories import make_invoice
from tests.invoicing.notification_helpers import make_submission, tasks_run_here  # noqa: F401 (a fixture)

State, Clearance = Submission.State, Submission.ClearanceStatus
Kind = Notification.Kind


@pytest.fixture(autouse=True)
def tasks(tasks_run_here):  # noqa: F811
    pass


@pytest.fixture
def invoice(administration, member):
    return make_invoice(administration, member, invoice_number="2026-0042")


def outcome_told(submission, capture):
    with capture(execute=True):
        notifications.submission_outcome_notify(submission.pk)


def test_an_accepted_invoice_is_in_the_authors_bell_once_and_emailed_once(
    invoice, member, administration, django_capture_on_commit_callbacks
):
    submission = make_submission(invoice, member, state=State.SENT, clearance_status=Clearance.ACCEPTED, terminal=True)

    outcome_told(submission, django_capture_on_commit_callbacks)
    outcome_told(submission, django_capture_on_commit_callbacks)  # a repeated poll
    submission_outcome_send.apply(args=[submission.pk, Outcome.ACCEPTED])  # the task delivered twice

    row = Notification.objects.get()
    assert (row.recipient, row.kind, row.key) == (member, Kind.INVOICE_ACCEPTED, f"submission:{submission.pk}:accepted")
    assert row.url == f"/administrations/{administration.company_number}/invoices/{invoice.pk}/"
    assert row.emailed == Notification.Emailed.NO  # the outcome pipeline e-mails it
    assert [message.to for message in mail.outbox] == [[member.email]]


@pytest.mark.parametrize(
    ("outcome", "fields"),
    [
        (Outcome.REJECTED, {"state": State.SENT, "clearance_status": Clearance.REJECTED, "terminal": True}),
        (Outcome.DUPLICATE, {"state": State.SENT, "clearance_status": Clearance.DUPLICATE, "terminal": True}),
        (Outcome.REFUSED, {"state": State.REFUSED}),
    ],
)
def test_a_rejected_refused_or_duplicate_invoice_tells_author_and_submitter(
    invoice, member, owner, outcome, fields, django_capture_on_commit_callbacks
):
    submission = make_submission(invoice, owner, **fields)

    outcome_told(submission, django_capture_on_commit_callbacks)

    rows = Notification.objects.filter(kind=Kind.INVOICE_REJECTED, key=f"submission:{submission.pk}:{outcome}")
    assert {row.recipient for row in rows} == {member, owner}
    assert len(mail.outbox) == 2


def test_held_goes_by_email_only(invoice, member, django_capture_on_commit_callbacks):
    outcome_told(make_submission(invoice, member, state=State.HELD), django_capture_on_commit_callbacks)

    assert not Notification.objects.exists() and len(mail.outbox) == 1


def test_the_outcome_switch_off_stops_the_email_not_the_bell(invoice, member, django_capture_on_commit_callbacks):
    NotificationSetting.objects.create(user=member, accepted=False)
    submission = make_submission(invoice, member, state=State.SENT, clearance_status=Clearance.ACCEPTED, terminal=True)

    outcome_told(submission, django_capture_on_commit_callbacks)

    assert Notification.objects.filter(recipient=member).count() == 1 and mail.outbox == []
