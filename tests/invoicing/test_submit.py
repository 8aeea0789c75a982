"""Submitting an invoice: the outbox row, the refusals, one Submission however often it is asked,
and the send to the sandbox's Clearvo over a real socket for each kind of first answer."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from clearfacts_app.models import Activity
from invoicing import submissions
from invoicing.clearvo import body_sha256
from invoicing.models import ClearanceEvent, ClearvoAccount, Exchange, Invoice, Submission
from invoicing.payload import payload_bytes
from invoicing.submissions import SubmitRefused, invoice_submit, submission_send
from sandbox.clearvo.models import InvoiceSubmission
from tests.invoicing.submit_helpers import posts, ready_draft, stored, submitted

State = Submission.State


def test_submitting_freezes_the_draft_and_records_the_exact_request_before_anything_is_sent(
    live_clearvo, administration, member, dispatched
):
    invoice = ready_draft(administration, member)
    profile = administration.invoicing_profile
    profile.legal_name = "Bakkerij Janssens & Zonen BV"
    profile.save()

    submission = submitted(invoice, member)

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SUBMITTING and invoice.version == 2
    assert invoice.supplier_name == "Bakkerij Janssens & Zonen BV", "the supplier is copied from the profile anew"
    body = bytes(submission.body)
    assert body == payload_bytes(invoice) and b"Bakkerij Janssens & Zonen BV" in body
    assert submission.body_sha256 == body_sha256(body)
    assert uuid.UUID(str(submission.idempotency_key)).version == 4
    assert (submission.state, submission.attempts, submission.invoice_version) == (State.QUEUED, 0, 2)
    assert submission.api_mode == "test" and submission.submitted_by == member
    assert dispatched == [(submission.pk, None)]
    assert not posts().exists(), "nothing leaves before the task runs"
    activity = Activity.objects.get(action="invoice.submitted")
    assert activity.actor == member and activity.data["submission"] == submission.pk


def test_an_italian_invoice_is_sent_and_pending_with_the_sandboxs_reference(
    live_clearvo, administration, member, dispatched, notified
):
    submission = submitted(ready_draft(administration, member, "IT"), member)

    assert submission_send(submission.pk) == State.SENT

    submission.refresh_from_db()
    held = InvoiceSubmission.objects.get()
    assert held.invoice_number == submission.invoice.invoice_number
    assert held.idempotency_key == str(submission.idempotency_key)
    assert held.entity_id == administration.company_number
    assert (submission.reference_id, submission.clearance_status, submission.terminal) == (
        held.reference_id,
        "PENDING",
        False,
    )
    assert submission.submitted_at == held.submitted_at and submission.next_poll_at == held.next_poll_after
    assert (submission.attempts, submission.sending_until, submission.next_attempt_at) == (1, None, None)
    assert submission.invoice.status == Invoice.Status.PENDING
    assert list(ClearanceEvent.objects.values_list("status", "at")) == [("PENDING", held.submitted_at)]
    exchange = Exchange.objects.get()
    assert (exchange.method, exchange.path, exchange.status_code) == ("POST", "/invoices", 200)
    assert held.reference_id in exchange.response_body
    assert Activity.objects.filter(action="invoice.sent").count() == 1
    assert notified == [], "a pending invoice has no outcome yet"


def test_a_german_invoice_is_accepted_at_once_and_its_outcome_announced(
    live_clearvo, administration, member, dispatched, notified
):
    submission = submitted(ready_draft(administration, member, "DE"), member)

    before = timezone.now()
    assert submission_send(submission.pk) == State.SENT

    submission.refresh_from_db()
    assert (submission.clearance_status, submission.terminal) == ("ACCEPTED", True)
    assert submission.reference_id == InvoiceSubmission.objects.get().reference_id
    assert submission.invoice.status == Invoice.Status.ACCEPTED
    assert before <= submission.next_poll_at <= timezone.now()
    assert notified == [submission.pk]


def test_a_polish_invoice_is_pending_too(live_clearvo, administration, member, dispatched):
    submission = submitted(ready_draft(administration, member, "PL"), member)

    submission_send(submission.pk)

    submission.refresh_from_db()
    assert submission.clearance_status == "PENDING" and submission.invoice.status == Invoice.Status.PENDING


def test_an_office_with_its_own_live_key_sends_with_it(live_clearvo, administration, member, dispatched):
    ClearvoAccount.objects.create(office=administration.office, api_key=settings.SANDBOX_CLEARVO_LIVE_KEY)

    submission = submitted(ready_draft(administration, member), member)
    submission_send(submission.pk)

    assert submission.api_mode == "live"
    assert InvoiceSubmission.objects.get().api_key.environment == "live"


def test_a_second_send_of_a_sent_submission_sends_nothing(live_clearvo, administration, member, dispatched):
    submission = submitted(ready_draft(administration, member), member)
    submission_send(submission.pk)

    assert submission_send(submission.pk) == "not claimable (sent)"
    assert posts().count() == 1


# Refusals


def test_an_invoice_that_is_no_longer_a_draft_is_refused(live_clearvo, administration, member, dispatched):
    invoice = ready_draft(administration, member, status=Invoice.Status.ACCEPTED)

    with pytest.raises(SubmitRefused, match="no longer a draft"):
        submitted(invoice, member)

    assert not Submission.objects.exists() and dispatched == []


def test_an_invoice_changed_since_the_user_saw_it_is_refused(live_clearvo, administration, member, dispatched):
    invoice = ready_draft(administration, member)

    with pytest.raises(SubmitRefused, match="changed since you opened it"):
        invoice_submit(invoice=invoice, user=member, expected_version=invoice.version - 1)

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT and invoice.version == 1
    assert not Submission.objects.exists()


def test_an_invoice_clearvo_would_refuse_is_refused_with_its_problems(live_clearvo, administration, member, dispatched):
    invoice = ready_draft(administration, member, buyer_city="")

    with pytest.raises(SubmitRefused) as refused:
        submitted(invoice, member)

    assert "fix the problem marked first" in refused.value.message
    assert [(problem.field, problem.line) for problem in refused.value.problems] == [("buyer_city", None)]
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT and not Submission.objects.exists()


def test_an_office_without_a_clearvo_key_cannot_submit(live_clearvo, administration, member, dispatched):
    invoice = ready_draft(administration, member)

    with override_settings(CLEARVO_API_KEY=""), pytest.raises(SubmitRefused, match="no Clearvo API key"):
        submitted(invoice, member)

    assert not Submission.objects.exists()


# One Submission per invoice


def test_submitting_twice_returns_the_same_submission_and_creates_nothing(
    live_clearvo, administration, member, owner, dispatched
):
    invoice = ready_draft(administration, member)
    first = submitted(invoice, member)

    # A double click (the same version again) and a colleague's tab opened before the submit.
    again = invoice_submit(invoice=invoice, user=member, expected_version=1)
    colleague = invoice_submit(invoice=invoice, user=owner, expected_version=1)

    assert again.pk == first.pk == colleague.pk
    assert Submission.objects.count() == 1 and len(dispatched) == 1
    assert Activity.objects.filter(action="invoice.submitted").count() == 1


def test_an_invoice_already_sent_and_accepted_returns_its_submission(live_clearvo, administration, member, dispatched):
    invoice = ready_draft(administration, member, "DE")
    first = submitted(invoice, member)
    submission_send(first.pk)

    assert invoice_submit(invoice=invoice, user=member, expected_version=1).pk == first.pk
    assert Submission.objects.count() == 1


def test_two_colleagues_submitting_at_the_same_moment_make_one_submission(
    live_clearvo, administration, member, owner, dispatched
):
    invoice = ready_draft(administration, member)
    start = threading.Barrier(2)
    results, errors = [], []

    def submit(user):
        try:
            start.wait()
            results.append(invoice_submit(invoice=Invoice.objects.get(pk=invoice.pk), user=user, expected_version=1))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(user,)) for user in (member, owner)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert len(results) == 2 and results[0].pk == results[1].pk
    assert Submission.objects.count() == 1 and len(dispatched) == 1


def test_the_database_refuses_a_second_followed_submission_of_an_invoice(
    live_clearvo, administration, member, dispatched, monkeypatch
):
    """The last line of defence: even past the row lock, one_active_submission_per_invoice keeps one."""
    invoice = ready_draft(administration, member)
    first = submitted(invoice, member)
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.DRAFT, version=5)
    monkeypatch.setattr(submissions, "_standing", lambda invoice: None)  # as if the lock had let a second one in

    again = invoice_submit(invoice=invoice, user=member, expected_version=5)

    assert again.pk == first.pk and Submission.objects.count() == 1


def test_an_invoice_fixed_after_the_authority_rejected_it_is_submitted_anew_with_a_new_key(
    live_clearvo, administration, member, dispatched
):
    invoice = ready_draft(administration, member)
    first = submitted(invoice, member)
    submission_send(first.pk)
    # The authority rejected it; the user reopened and fixed the invoice (the fix-and-resend flow).
    Submission.objects.filter(pk=first.pk).update(clearance_status="REJECTED", terminal=True)
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.DRAFT, version=7)

    second = invoice_submit(invoice=invoice, user=member, expected_version=7)

    assert second.pk != first.pk and second.idempotency_key != first.idempotency_key
    assert set(Submission.objects.values_list("state", flat=True)) == {State.SENT, State.QUEUED}


def test_the_next_attempt_of_a_queued_submission_waits_for_its_time(live_clearvo, administration, member, dispatched):
    submission = submitted(ready_draft(administration, member), member)
    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=1))

    assert submission_send(submission.pk) == "not due"
    assert not posts().exists()
    assert not stored(submission).exists()
