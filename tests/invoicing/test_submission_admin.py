"""Submissions in the staff admin: read-only, raw answers shown, a 409 conflict singled out, two actions.

The actions call the outbox's and the poller's own functions (polling.submission_poll,
submissions.submission_retry). The tests that run those functions for real, against the sandbox,
are skipped while the functions are not there yet; the others replace them with a recorder.
"""

import uuid
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.test import override_settings
from django.utils import timezone

from invoicing import clearvo, polling, submissions
from invoicing.models import Exchange, Invoice, NotificationSent, Outcome, Submission
from invoicing.payload import payload_bytes
from sandbox.clearvo.seed import seed as seed_clearvo
from tests.factories import make_invoice
from tests.invoicing.notification_helpers import make_submission
from tests.invoicing.rules_examples import saved_invoice
from tests.invoicing.test_admin import form_of

State, Clearance = Submission.State, Submission.ClearanceStatus
CHANGELIST = "/admin/invoicing/submission/"
LONG_ANSWER = '{"ok": true, "referenceId": "ref-pending", "padding": "' + "x" * 500 + '"}'


def change_url(submission) -> str:
    return f"{CHANGELIST}{submission.pk}/change/"


@pytest.fixture
def pending(administration, member):
    submission = make_submission(
        make_invoice(administration, member, invoice_number="P-1", status=Invoice.Status.PENDING),
        member,
        state=State.SENT,
        reference_id="ref-pending",
        clearance_status=Clearance.PENDING,
        attempts=1,
    )
    Exchange.objects.create(
        submission=submission,
        method="POST",
        path="/invoices",
        started_at=timezone.now() - timedelta(minutes=1),
        status_code=500,
        response_body="<html>Internal Server Error</html>",
    )
    answer = {"method": "POST", "path": "/invoices", "status_code": 200, "response_body": LONG_ANSWER}
    Exchange.objects.create(submission=submission, started_at=timezone.now(), **answer)
    submission.events.create(status="PENDING", at=timezone.now(), message="Submitted to SDI")
    return submission


@pytest.fixture
def conflict(administration, member):
    invoice = make_invoice(administration, member, invoice_number="C-1", status=Invoice.Status.SUBMITTING)
    return make_submission(invoice, member, state=State.FAILED, reason_code="conflict", attempts=2)


@pytest.fixture
def held(administration, member):
    invoice = make_invoice(administration, member, invoice_number="H-1", status=Invoice.Status.SUBMITTING)
    return make_submission(invoice, member, state=State.HELD, reason_code="outcome_unknown", attempts=3)


@pytest.fixture
def accepted(administration, member):
    invoice = make_invoice(administration, member, invoice_number="A-1", status=Invoice.Status.ACCEPTED)
    cleared = {"reference_id": "ref-accepted", "clearance_status": Clearance.ACCEPTED, "terminal": True}
    submission = make_submission(invoice, member, state=State.SENT, **cleared)
    NotificationSent.objects.create(
        submission=submission, outcome=Outcome.ACCEPTED, recipient=member, email=member.email, status="sent"
    )
    return submission


@pytest.fixture
def everything(pending, conflict, held, accepted):
    return [pending, conflict, held, accepted]


def shown(response) -> list[str]:
    return sorted(submission.invoice.invoice_number for submission in response.context["cl"].result_list)


def test_the_changelist_loads_with_each_submissions_state_and_its_last_answer_truncated(admin_client, everything):
    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert shown(response) == ["A-1", "C-1", "H-1", "P-1"]
    page = response.text
    assert '<pre class="clearvo-body">{&quot;ok&quot;: true' in page  # the latest exchange, not the 500
    assert LONG_ANSWER not in page and "x" * 40 + "…</pre>" in page


def test_a_409_conflict_is_highlighted_and_has_its_own_filter(admin_client, everything):
    page = admin_client.get(CHANGELIST).text

    assert page.count('class="needs-staff"') == 1
    assert "409 conflict" in page.split('class="needs-staff"')[1].split("</strong>")[0]
    assert shown(admin_client.get(CHANGELIST, {"needs_staff": "yes"})) == ["C-1"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"state__exact": "held"}, ["H-1"]),
        ({"clearance_status__exact": "ACCEPTED"}, ["A-1"]),
        ({"terminal__exact": "0"}, ["C-1", "H-1", "P-1"]),
    ],
)
def test_the_list_filters(admin_client, everything, filters, expected):
    assert shown(admin_client.get(CHANGELIST, filters)) == expected


def test_search_by_invoice_number_reference_id_or_idempotency_key(admin_client, everything, held):
    assert shown(admin_client.get(CHANGELIST, {"q": "H-1"})) == ["H-1"]
    assert shown(admin_client.get(CHANGELIST, {"q": "ref-accepted"})) == ["A-1"]
    assert shown(admin_client.get(CHANGELIST, {"q": str(held.idempotency_key)})) == ["H-1"]
    assert shown(admin_client.get(CHANGELIST, {"q": str(uuid.uuid4())})) == []


def test_the_change_page_shows_everything_read_only_with_raw_bodies_in_full(admin_client, pending, accepted):
    response = admin_client.get(change_url(pending))

    assert response.status_code == 200
    page = response.text
    assert form_of(page).editable == set()  # not one field, inline or not, can be changed
    assert 'name="_save"' not in page and "/delete/" not in page
    assert LONG_ANSWER.replace('"', "&quot;") in page  # in full here
    assert "&lt;html&gt;Internal Server Error&lt;/html&gt;</pre>" in page  # escaped, never rendered
    assert '<pre class="clearvo-body">{&quot;invoiceNumber&quot;: &quot;F-1&quot;}</pre>' in page  # the request
    assert "Submitted to SDI" in page and str(pending.idempotency_key) in page
    assert accepted.notifications.get().email in admin_client.get(change_url(accepted)).text


def test_nothing_is_added_changed_or_deleted_through_the_admin(admin_client, held):
    before = Submission.objects.values().get(pk=held.pk)

    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.post(change_url(held), {"state": "queued", "attempts": 0}).status_code == 403
    assert admin_client.post(f"{CHANGELIST}{held.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [held.pk], "post": "yes"})

    assert Submission.objects.values().get(pk=held.pk) == before


def act(admin_client, action, *submissions_):
    return admin_client.post(
        CHANGELIST, {"action": action, "_selected_action": [s.pk for s in submissions_]}, follow=True
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def poller(monkeypatch):
    """polling.submission_poll replaced by a recorder (which fails for reference "ref-down")."""
    polled = []

    def submission_poll(submission):
        if submission.reference_id == "ref-down":
            raise clearvo.Unavailable("Clearvo answered 503")
        polled.append(submission.pk)

    monkeypatch.setattr(polling, "submission_poll", submission_poll, raising=False)
    return polled


def test_poll_now_polls_the_sent_non_terminal_submissions_and_says_what_it_left_alone(
    admin_client, everything, pending, held, accepted, poller
):
    response = act(admin_client, "poll_now", pending, held, accepted)

    assert poller == [pending.pk]
    left_alone = f"{accepted}, {held}"  # newest first, as the list shows them
    assert messages_of(response) == [
        f"Polled: {pending}.",
        f"Left alone (not in a state this action applies to): {left_alone}.",
    ]


def test_poll_now_reports_clearvo_being_unreachable(admin_client, pending, poller):
    Submission.objects.filter(pk=pending.pk).update(reference_id="ref-down")

    response = act(admin_client, "poll_now", pending)

    assert messages_of(response) == [f"Failed: {pending}: Clearvo answered 503."]


@pytest.fixture
def retrier(monkeypatch):
    retried = []
    monkeypatch.setattr(
        submissions,
        "submission_retry",
        lambda *, submission, user: retried.append((submission.pk, user.email)),
        raising=False,
    )
    return retried


def test_retry_sends_held_and_retrying_submissions_again_as_the_staff_member(
    admin_client, admin_user, everything, held, conflict, accepted, retrier
):
    retrying = make_submission(
        make_invoice(held.invoice.administration, held.submitted_by, invoice_number="R-1"),
        held.submitted_by,
        state=State.RETRYING,
    )

    response = act(admin_client, "retry_send", held, retrying, conflict, accepted)

    assert sorted(retrier) == sorted([(held.pk, admin_user.email), (retrying.pk, admin_user.email)])
    assert messages_of(response)[0].startswith("Sent again with the same key: ")
    assert str(conflict) in messages_of(response)[1] and str(accepted) in messages_of(response)[1]


def test_the_actions_change_nothing_themselves_and_log_nothing_as_a_change(admin_client, held, retrier):
    before = Submission.objects.values().get(pk=held.pk)

    act(admin_client, "retry_send", held)

    assert Submission.objects.values().get(pk=held.pk) == before  # the recorder did nothing: neither did the admin
    assert not LogEntry.objects.exists()


needs_poller = pytest.mark.skipif(
    not callable(getattr(polling, "submission_poll", None)), reason="polling.submission_poll is still the contract stub"
)
needs_retry = pytest.mark.skipif(
    not callable(getattr(submissions, "submission_retry", None)),
    reason="submissions.submission_retry is still the contract stub",
)


@pytest.fixture
def sandbox_clearvo(portal):
    seed_clearvo()
    with override_settings(SANDBOX_FAULT_RATE=0.0, SANDBOX_LATENCY_MS=0):
        yield


@needs_poller
def test_poll_now_reads_the_status_from_the_sandbox(sandbox_clearvo, admin_client, office, administration, member):
    invoice = saved_invoice(administration, member, "IT")
    body = payload_bytes(invoice)
    submission = make_submission(invoice, member, body=body, state=State.SENDING)
    answer = clearvo.client_for(office).submit(
        body,
        idempotency_key=str(submission.idempotency_key),
        entity_id=administration.company_number,
        record=lambda fields: Exchange.objects.create(submission=submission, **fields),
    )
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PENDING)
    Submission.objects.filter(pk=submission.pk).update(
        state=State.SENT,
        reference_id=answer.reference_id,
        clearance_status=answer.clearance_status,
        terminal=answer.terminal,
        next_poll_at=timezone.now() + timedelta(hours=1),
    )

    response = act(admin_client, "poll_now", submission)

    assert messages_of(response) == [f"Polled: {submission}."]
    submission.refresh_from_db()
    assert submission.events.exists() and submission.clearance_status in Clearance.values
    assert submission.exchanges.filter(method="GET").exists()


@needs_retry
def test_retry_sends_a_held_submission_again_with_the_same_key(sandbox_clearvo, admin_client, administration, member):
    invoice = saved_invoice(administration, member, "IT")
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.SUBMITTING)
    held = make_submission(invoice, member, body=payload_bytes(invoice), state=State.HELD, attempts=3)
    held.first_attempt_at = timezone.now() - timedelta(hours=2)  # well within the key's lifetime
    held.save()

    response = act(admin_client, "retry_send", held)

    assert messages_of(response) == [f"Sent again with the same key: {held}."]
    after = Submission.objects.get(pk=held.pk)
    assert after.state != State.HELD and after.idempotency_key == held.idempotency_key
    assert Submission.objects.filter(invoice=invoice).count() == 1


def test_retry_leaves_alone_a_held_submission_whose_key_clearvo_no_longer_remembers(
    admin_client, administration, member
):
    invoice = saved_invoice(administration, member, "IT")
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.SUBMITTING)
    held = make_submission(invoice, member, body=payload_bytes(invoice), state=State.HELD, attempts=3)
    held.first_attempt_at = timezone.now() - timedelta(hours=25)
    held.save()

    response = act(admin_client, "retry_send", held)

    assert response.status_code == 200
    assert any("Left alone" in message for message in messages_of(response))
    assert Submission.objects.get(pk=held.pk).state == State.HELD
