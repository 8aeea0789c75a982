"""Each country's clearance lifecycle, followed by the poller over a real socket against the sandbox.

Invoices are really sent (tests/invoicing/polling_helpers.py); the sandbox plays its cadences
SANDBOX_TIME_FACTOR times faster, and the tests run the poller every 50 ms, as beat would run the
periodic task, until the submission is terminal. The invoice numbers' suffixes are the sandbox's
scenarios (sandbox/clearvo/services.py TRIGGERS).
"""

import pytest

from clearfacts_app.models import Activity
from invoicing import notifications
from invoicing.models import Invoice, Submission
from invoicing.polling import submissions_poll_due
from invoicing.tasks import poll_submission
from sandbox.clearvo.models import InvoiceSubmission
from sandbox.clearvo.seed import seed as seed_clearvo
from tests.factories import make_administration
from tests.invoicing.polling_helpers import poll_until, sent

pytestmark = pytest.mark.slow

# 5 minutes of SDI cadence in one second; KSeF's 30-second decision in a tenth.
FAST = 300


@pytest.fixture
def sandbox(portal, settings):
    seed_clearvo()
    settings.SANDBOX_TIME_FACTOR = FAST
    settings.SANDBOX_FAULT_RATE = 0.0
    settings.SANDBOX_LATENCY_MS = 0
    return settings


@pytest.fixture
def notified(monkeypatch):
    calls = []
    monkeypatch.setattr(notifications, "submissions_outcome_notify", calls.extend)
    return calls


def followed(submission: Submission, timeout: float = 15.0) -> Submission:
    poll_until(lambda: Submission.objects.get(pk=submission.pk).terminal, poll=submissions_poll_due, timeout=timeout)
    return Submission.objects.select_related("invoice").get(pk=submission.pk)


def statuses(submission: Submission) -> list[str]:
    return list(submission.events.values_list("status", flat=True))


def gets(submission: Submission) -> list[int]:
    return list(submission.exchanges.filter(method="GET").values_list("status_code", flat=True))


def activity(submission: Submission, action: str) -> Activity:
    return Activity.objects.get(action=action, data__submission=submission.pk)


def test_italy_accepted(sandbox, administration, member, notified):
    submission = sent(administration, member, "IT")
    assert (submission.clearance_status, submission.terminal) == ("PENDING", False)
    assert submission.next_poll_at is not None

    done = followed(submission)

    assert (done.clearance_status, done.terminal, done.next_poll_at) == ("ACCEPTED", True, None)
    assert done.cleared_at is not None and done.rejected_at is None and done.error == {}
    assert done.invoice.status == Invoice.Status.ACCEPTED
    assert statuses(done) == ["PENDING", "ACCEPTED"]
    assert done.events.get(status="ACCEPTED").message == "Cleared by SDI"
    assert set(gets(done)) == {200}
    assert done.polls == len(gets(done))
    cleared = activity(done, "invoice.cleared")
    assert (cleared.administration, cleared.actor) == (administration, None)
    assert cleared.data == {
        "invoice": done.invoice_id,
        "invoice_number": done.invoice.invoice_number,
        "submission": done.pk,
        "reference_id": done.reference_id,
        "status": "ACCEPTED",
    }
    assert notified == [done.pk]


@pytest.mark.parametrize(
    "suffix, code",
    [("-SDI00001", "00001"), ("-SDI00002", "00002"), ("-SDI00102", "00102"), ("-SDI00201", "00201")],
)
def test_italy_rejected_with_each_sdi_code(sandbox, administration, member, notified, suffix, code):
    done = followed(sent(administration, member, "IT", suffix))

    assert (done.clearance_status, done.terminal, done.next_poll_at) == ("REJECTED", True, None)
    assert done.error["source"] == "SDI" and done.error["code"] == code
    assert done.error["message"] and done.error["detail"]
    assert done.rejected_at is not None and done.cleared_at is None
    assert done.invoice.status == Invoice.Status.REJECTED
    assert statuses(done) == ["PENDING", "REJECTED"]
    rejected = activity(done, "invoice.rejected")
    assert (rejected.data["source"], rejected.data["code"]) == ("SDI", code)
    assert notified == [done.pk]


def test_italy_duplicate(sandbox, administration, member, notified):
    done = followed(sent(administration, member, "IT", "-DUPLICATE"))

    assert (done.clearance_status, done.terminal) == ("DUPLICATE", True)
    assert done.invoice.status == Invoice.Status.DUPLICATE
    assert "already has invoice number" in done.events.get(status="DUPLICATE").message
    assert activity(done, "invoice.duplicate").data["status"] == "DUPLICATE"
    assert notified == [done.pk]


def test_italy_number_sent_again_under_a_new_key_is_rejected_00002(sandbox, office, administration, member):
    """The same supplier and number from a second administration: SDI already holds it."""
    first = sent(administration, member, "IT")
    other = make_administration(office, "Bakkerij Janssens Oost BV")
    again = sent(other, member, "IT", number=first.invoice.invoice_number)
    assert again.idempotency_key != first.idempotency_key

    done = followed(again)

    assert (done.clearance_status, done.error["code"]) == ("REJECTED", "00002")
    assert first.reference_id in done.error["detail"]
    assert followed(first).clearance_status == "ACCEPTED"


def test_italy_undelivered_is_followed_until_its_mc_deadline(sandbox, administration, member, notified):
    # Ten days of SDI retries in three seconds: UNDELIVERED at once, ACCEPTED at the deadline.
    sandbox.SANDBOX_TIME_FACTOR = 10 * 24 * 3600 / 3
    submission = sent(administration, member, "IT", "-UNDELIVERED")

    undelivered = poll_until(
        lambda: Submission.objects.filter(pk=submission.pk, clearance_status="UNDELIVERED").first(),
        poll=submissions_poll_due,
    )
    assert undelivered.terminal is False and undelivered.mc_deadline is not None
    assert undelivered.next_poll_at is not None and undelivered.next_poll_at <= undelivered.mc_deadline
    assert Invoice.objects.get(pk=submission.invoice_id).status == Invoice.Status.UNDELIVERED
    assert activity(undelivered, "invoice.undelivered").data["mc_deadline"] == undelivered.mc_deadline.isoformat()
    assert notified == [submission.pk]

    done = followed(submission)

    assert (done.clearance_status, done.terminal, done.reason_code) == ("ACCEPTED", True, "")
    assert done.cleared_at == undelivered.mc_deadline
    assert statuses(done) == ["PENDING", "UNDELIVERED", "ACCEPTED"]
    assert "D.Lgs. 127/2015" in done.events.get(status="ACCEPTED").message
    assert done.invoice.status == Invoice.Status.ACCEPTED
    assert set(gets(done)) == {200}
    assert notified == [submission.pk, submission.pk]


def test_poland_accepted_with_a_ksef_number(sandbox, administration, member, notified):
    done = followed(sent(administration, member, "PL"))

    assert (done.clearance_status, done.terminal) == ("ACCEPTED", True)
    accepted = done.events.get(status="ACCEPTED")
    number = accepted.extra["kSeFNumber"]
    assert (
        number
        == InvoiceSubmission.objects.get(reference_id=done.reference_id)
        .events.get(status="ACCEPTED")
        .extra["kSeFNumber"]
    )
    assert activity(done, "invoice.cleared").data["ksef_number"] == number
    assert done.invoice.status == Invoice.Status.ACCEPTED
    assert notified == [done.pk]


@pytest.mark.parametrize(
    "suffix, code",
    [
        ("-KSEF-INVALIDNIP", "InvalidNip"),
        ("-KSEF-DUPLICATE", "DuplicateInvoice"),
        ("-KSEF-SCHEMA", "SchemaValidationError"),
    ],
)
def test_poland_rejected_with_each_ksef_code(sandbox, administration, member, suffix, code):
    done = followed(sent(administration, member, "PL", suffix))

    assert (done.clearance_status, done.error["source"], done.error["code"]) == ("REJECTED", "KSeF", code)
    assert "kSeFNumber" not in done.events.get(status="REJECTED").extra
    assert done.invoice.status == Invoice.Status.REJECTED
    if code == "SchemaValidationError":
        assert done.error["detail"].startswith("/Faktura/")  # the XPath the spec promises


def test_germany_is_accepted_on_the_post_and_never_polled(sandbox, administration, member):
    submission = sent(administration, member, "DE")
    assert (submission.clearance_status, submission.terminal, submission.next_poll_at) == ("ACCEPTED", True, None)

    assert submissions_poll_due() == 0
    assert gets(submission) == []

    # Read once after the POST (the outbox's follow-up) for the events: delivered via Peppol.
    poll_submission(submission.pk)
    submission.refresh_from_db()
    assert statuses(submission) == ["ACCEPTED"]
    assert submission.events.get().extra == {"peppolDelivered": True}
    assert (submission.clearance_status, submission.terminal, submission.next_poll_at) == ("ACCEPTED", True, None)
    assert submission.cleared_at is not None
    assert not Activity.objects.filter(data__submission=submission.pk).exists()  # nothing moved


def test_germany_peppol_access_point_rejection(sandbox, administration, member):
    submission = sent(administration, member, "DE", "-PEPPOL-REJECT")
    assert (submission.clearance_status, submission.terminal) == ("REJECTED", True)

    poll_submission(submission.pk)
    submission.refresh_from_db()

    assert submission.error["source"] == "PEPPOL_AP" and submission.error["code"] == "RE"
    assert submission.rejected_at is not None
    assert submission.events.get(status="REJECTED").extra == {"peppolDelivered": False}
    assert Invoice.objects.get(pk=submission.invoice_id).status == Invoice.Status.REJECTED


def test_germany_accepted_but_not_delivered_via_peppol(sandbox, administration, member):
    submission = sent(administration, member, "DE", "-PEPPOL-UNDELIVERED")

    poll_submission(submission.pk)

    event = submission.events.get()
    assert (event.status, event.extra) == ("ACCEPTED", {"peppolDelivered": False})
    assert "available for download" in event.message
