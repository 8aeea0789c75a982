"""Each problem reaches the clearance queue through the real machinery and leaves through it.

Against the live sandbox's Clearvo and Clearfacts over a real socket: invoices are submitted and sent
as the outbox sends them, followed by the poller, alerted by the watchdog (its `now` moved, never
waited for), compared by the duplicate reconciliation and filed in the books; each then leaves the
queue (invoicing.cockpit.queue_items, and once the page /office/clearance/) through the authority's
answer, the queue's own "check now", reopening, adopting, renumbering or sending a held document anyway.
tests/invoicing/test_cockpit.py covers the queue's rules one by one, on rows written directly.
"""

import importlib
import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from clearfacts_app import documents
from clearfacts_app.models import Document
from invoicing import cockpit, services
from invoicing.book_tasks import prepare_book_filing
from invoicing.cockpit import Problem
from invoicing.duplicates import DecisionRefused, duplicate_adopt, duplicate_renumber
from invoicing.models import BookFiling, DuplicateMatch, Invoice, StatusAlert, StatusLimit, Submission
from invoicing.polling import submission_poll, submissions_poll_due
from invoicing.submissions import submission_send
from invoicing.watchdog import stale_statuses_alert
from sandbox.clearfacts.models import Document as ClearfactsDocument
from sandbox.clearvo.models import InvoiceSubmission
from sandbox.instrument import fail_next
from tests.invoicing.duplicate_helpers import reached_then_released
from tests.invoicing.notification_helpers import tasks_run_here  # noqa: F401 (a fixture)
from tests.invoicing.polling_helpers import poll_until
from tests.invoicing.submit_helpers import ready_draft, submitted

pytestmark = pytest.mark.slow

State = Submission.State
QUEUE = "/office/clearance/"
ACT = "/office/clearance/act/"
# SDI decides in 4 minutes, KSeF in 30 s: under a second here, and Clearvo asks for the next poll within one.
FAST = 300
REAL_PACE = 1  # KSeF's -SLOW decision then takes three minutes
AT_ONCE = 100_000  # every decision the sandbox's authorities have pending is due
DEFAULT_LIMITS = importlib.import_module("invoicing.migrations.0010_cockpit_data").DEFAULT_LIMITS
ROW = re.compile(r'data-testid="cockpit-item" data-key="([^"]+)" data-problem="([^"]+)"')
EARLIER_INVOICE = re.compile(r'<a href="([^"]+)" data-testid="duplicate-earlier-invoice">([^<]+)</a>')


@pytest.fixture
def sandbox(live_clearvo, dispatched, settings, tasks_run_here):  # noqa: F811
    """The live sandbox at FAST pace. Sends wait for the test's `submission_send`; every other task
    (status checks, documents, e-mails) runs here when dispatched. The watchdog's limits are the
    defaults migration 0010 seeds (a transactional test before this one may have emptied the table)."""
    settings.SANDBOX_TIME_FACTOR = FAST
    for country, status, counted_from, first, second in DEFAULT_LIMITS:
        StatusLimit.objects.update_or_create(
            country=country,
            status=status,
            defaults={"counted_from": counted_from, "first_after": first, "second_after": second},
        )
    return live_clearvo


def queue(user) -> list[tuple[str, str]]:
    return [(item.problem.value, item.label) for item in cockpit.queue_items(user=user).items]


def the_item(user) -> cockpit.QueueItem:
    [item] = cockpit.queue_items(user=user).items
    return item


def sent(invoice: Invoice, user) -> Submission:
    """Submitted as the invoice page's button does, then sent as the outbox's task does."""
    submission = submitted(invoice, user)
    assert submission_send(submission.pk) == State.SENT
    return Submission.objects.select_related("invoice").get(pk=submission.pk)


def followed_until(submission: Submission, condition) -> Submission:
    """The poller run as beat runs it, each check when Clearvo's nextPollAfter comes, until `condition`."""

    def reached():
        current = Submission.objects.select_related("invoice").get(pk=submission.pk)
        return current if condition(current) else None

    return poll_until(reached, poll=submissions_poll_due, timeout=20)


def answered(submission: Submission) -> Submission:
    return followed_until(submission, lambda current: current.terminal)


def signed_in(client, user):
    client.force_login(user)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def page_rows(client) -> dict[str, str]:
    """The queue's rows on the page, {item key: problem}."""
    return dict(ROW.findall(client.get(QUEUE).text))


def invoice_url(invoice: Invoice) -> str:
    return reverse(
        "invoicing:invoice-detail",
        kwargs={"company_number": invoice.administration.company_number, "invoice_pk": invoice.pk},
    )


def edited(invoice: Invoice, user, *, line_description=None, **fields) -> Invoice:
    """The draft saved from the editor with `fields` (and its one line's description) changed."""
    invoice.refresh_from_db()
    for name, value in fields.items():
        setattr(invoice, name, value)
    lines = list(invoice.lines.all())
    if line_description is not None:
        [line] = lines
        line.description = line_description
    return services.invoice_update(invoice=invoice, editor=user, expected_version=invoice.version, lines=lines)


# --- time runs out: the watchdog puts it in, the authority's answer takes it out ---


def test_a_pending_invoice_past_its_limit_is_stuck_until_a_check_brings_the_authoritys_answer(
    sandbox, settings, client, administration, member
):
    """A Polish -SLOW invoice stays PENDING; the watchdog past the PL limit raises exactly one alert and the
    page lists the invoice as stuck; once KSeF has decided, the queue's "check now" fetches the answer and
    the row is gone."""
    settings.SANDBOX_TIME_FACTOR = REAL_PACE
    submission = sent(ready_draft(administration, member, "PL", invoice_number="2026-PL-0100-SLOW"), member)
    assert (submission.clearance_status, submission.terminal) == ("PENDING", False)
    limit = StatusLimit.objects.get(country="PL", status="PENDING").first_after
    key = f"invoice:{submission.invoice_id}"

    assert stale_statuses_alert(now=submission.status_since + limit - timedelta(minutes=1)) == 0
    assert queue(member) == []
    assert stale_statuses_alert(now=submission.status_since + limit + timedelta(minutes=1)) == 1
    assert stale_statuses_alert(now=submission.status_since + limit + timedelta(minutes=2)) == 0
    assert list(StatusAlert.objects.values_list("submission", "status", "level")) == [(submission.pk, "PENDING", 1)]

    signed_in(client, member)
    assert page_rows(client) == {key: Problem.STUCK.value}

    settings.SANDBOX_TIME_FACTOR = AT_ONCE
    assert client.post(ACT, {"action": "poll", "item": [key]}).status_code == 302

    assert Submission.objects.get(pk=submission.pk).clearance_status == "ACCEPTED"
    assert page_rows(client) == {}
    assert queue(member) == []


def test_an_undelivered_invoice_near_its_deadline_is_in_until_the_sdi_delivers_it(sandbox, administration, member):
    """An Italian -UNDELIVERED invoice followed to UNDELIVERED; the watchdog three days before its mcDeadline
    raises one alert and the queue lists it as undelivered since that poll, due at the deadline; when the
    SDI's window closes the sandbox answers ACCEPTED, a poll records it and the invoice is out."""
    number = "2026-IT-0200-UNDELIVERED"
    submission = sent(ready_draft(administration, member, "IT", invoice_number=number), member)
    undelivered = followed_until(submission, lambda current: current.clearance_status == "UNDELIVERED")
    deadline = undelivered.mc_deadline
    assert deadline is not None and not undelivered.terminal

    assert stale_statuses_alert(now=deadline - timedelta(days=4)) == 0
    assert stale_statuses_alert(now=deadline - timedelta(days=3)) == 1
    assert stale_statuses_alert(now=deadline - timedelta(days=2)) == 0
    item = the_item(member)
    assert (item.problem, item.label, item.due) == (Problem.UNDELIVERED, number, deadline)
    assert item.since == undelivered.status_since > submission.status_since

    InvoiceSubmission.objects.filter(reference_id=undelivered.reference_id).update(mc_deadline=timezone.now())
    submission_poll(undelivered)

    assert Submission.objects.get(pk=submission.pk).clearance_status == "ACCEPTED"
    assert queue(member) == []


# --- the authority said no ---


def test_a_rejected_invoice_is_in_until_it_is_reopened(sandbox, administration, member):
    """An Italian invoice the SDI rejects (00102) is in the queue as rejected, with the SDI's reason, until a
    person reopens it to fix it."""
    number = "2026-IT-0300-SDI00102"
    rejected = answered(sent(ready_draft(administration, member, "IT", invoice_number=number), member))
    assert (rejected.clearance_status, rejected.error["code"]) == ("REJECTED", "00102")

    item = the_item(member)
    assert (item.problem, item.label) == (Problem.REJECTED, number)
    assert item.reason.startswith("SDI 00102: ")

    services.invoice_reopen(invoice=rejected.invoice, user=member)

    assert queue(member) == []


# --- the number was already used ---


def test_the_same_invoice_sent_again_is_a_duplicate_until_its_earlier_outcome_is_adopted(
    sandbox, client, administration, member
):
    """A Polish invoice whose first send reached KSeF (its answer lost, the send released) is sent again:
    KSeF answers DuplicateInvoice, the portal finds the same body and the queue lists it as a duplicate;
    its page offers to adopt the earlier outcome, and adopting takes it out."""
    invoice = ready_draft(administration, member, "PL")
    first = reached_then_released(invoice, member)
    invoice.refresh_from_db()
    second = answered(sent(invoice, member))
    assert (second.clearance_status, second.error["code"]) == ("REJECTED", "DuplicateInvoice")
    assert (second.duplicate, second.duplicate_of_id) == (DuplicateMatch.SAME, first.pk)

    assert queue(member) == [(Problem.DUPLICATE.value, invoice.invoice_number)]
    page = signed_in(client, member).get(invoice_url(invoice)).text
    assert 'data-verdict="same"' in page and 'data-testid="duplicate-adopt"' in page

    duplicate_adopt(submission=second, user=member, confirmed=True)

    assert queue(member) == []


def test_a_copy_of_another_invoice_links_to_it_and_leaves_when_reopened(sandbox, client, administration, member):
    """The same content was first sent as another invoice of the portal, renumbered since in the editor: the
    copy is a duplicate whose page links to that invoice (the authority's record). Adopting is refused;
    reopening the copy takes it out."""
    original = ready_draft(administration, member, "IT", invoice_number="2026-IT-0400")
    first = reached_then_released(original, member)
    original = edited(original, member, invoice_number="2026-IT-0401")
    copy = ready_draft(administration, member, "IT", invoice_number="2026-IT-0400")

    answer = answered(sent(copy, member))

    assert (answer.error["code"], answer.duplicate, answer.duplicate_of_id) == ("00002", DuplicateMatch.SAME, first.pk)
    assert queue(member) == [(Problem.DUPLICATE.value, "2026-IT-0400")]
    page = signed_in(client, member).get(invoice_url(copy)).text
    assert EARLIER_INVOICE.findall(page) == [(invoice_url(original), "2026-IT-0401")]
    with pytest.raises(DecisionRefused, match="2026-IT-0401"):
        duplicate_adopt(submission=answer, user=member, confirmed=True)

    services.invoice_reopen(invoice=copy, user=member)

    assert queue(member) == []


def test_other_content_under_a_number_already_sent_is_a_duplicate_until_renumbered(sandbox, administration, member):
    """An Italian invoice whose first send reached the SDI is edited and sent again under its number: SDI
    00002, the portal finds a different body and the queue lists it as a duplicate; a new number takes it out."""
    invoice = ready_draft(administration, member, "IT")
    number = invoice.invoice_number
    first = reached_then_released(invoice, member)
    invoice = edited(invoice, member, line_description="Consulting, second phase")

    second = answered(sent(invoice, member))

    assert (second.clearance_status, second.error["code"]) == ("REJECTED", "00002")
    assert (second.duplicate, second.duplicate_of_id) == (DuplicateMatch.DIFFERENT, first.pk)
    assert second.body_sha256 != first.body_sha256
    assert queue(member) == [(Problem.DUPLICATE.value, number)]

    renumbered = duplicate_renumber(invoice=Invoice.objects.get(pk=invoice.pk), user=member)

    assert renumbered.status == Invoice.Status.DRAFT and renumbered.invoice_number != number
    assert queue(member) == []


@pytest.mark.parametrize(
    ("country", "number", "code"),
    [
        pytest.param("IT", "2026-IT-0500-SDI00002", "00002", id="SDI-00002"),
        pytest.param("PL", "2026-PL-0500-KSEF-DUPLICATE", "DuplicateInvoice", id="KSeF-DuplicateInvoice"),
    ],
)
def test_the_authoritys_duplicate_scenarios_are_a_different_invoice_in_the_queue(
    sandbox, administration, member, country, number, code
):
    """The sandbox's SDI 00002 and KSeF DuplicateInvoice answers, with nothing sent under the number by the
    portal: the comparison says "different" and the queue lists a duplicate until it is renumbered."""
    answer = answered(sent(ready_draft(administration, member, country, invoice_number=number), member))

    assert (answer.clearance_status, answer.error["code"]) == ("REJECTED", code)
    assert (answer.duplicate, answer.duplicate_of_id) == (DuplicateMatch.DIFFERENT, None)
    item = the_item(member)
    assert (item.problem, item.label) == (Problem.DUPLICATE, number)
    assert item.reason.startswith(str(DuplicateMatch.DIFFERENT.label))

    duplicate_renumber(invoice=answer.invoice, user=member)

    assert queue(member) == []


# --- the books ---


def test_a_filing_whose_document_is_held_is_in_until_it_is_sent_anyway(sandbox, administration, member):
    """A German invoice accepted on the POST is filed in the books; the connection drops before Clearfacts
    keeps the upload, so the portal cannot know whether it arrived: the filing's document is held (not
    failed) and the queue lists the invoice as a filing. A person who checked sends it anyway: Clearfacts
    then holds exactly one copy, and the invoice is out."""
    submission = sent(ready_draft(administration, member, "DE"), member)
    assert submission.invoice.status == Invoice.Status.ACCEPTED
    filing = BookFiling.objects.get(invoice=submission.invoice)
    fail_next("clearfacts-graphql", operation="uploadFile", when="before", kind="drop")

    assert prepare_book_filing(filing.pk) == BookFiling.State.HANDED_OVER

    document = Document.objects.get(book_filing=filing)
    assert (document.status, document.reason_code) == (Document.Status.HELD, Document.Reason.OUTCOME_UNKNOWN)
    assert not ClearfactsDocument.objects.filter(filename=document.filename).exists()
    item = the_item(member)
    assert (item.problem, item.key, item.document) == (Problem.FILING, f"invoice:{submission.invoice_id}", document)

    assert documents.document_send_anyway(document=document, actor=member)

    document.refresh_from_db()
    assert document.status == Document.Status.SENT
    assert ClearfactsDocument.objects.filter(filename=document.filename).count() == 1
    assert queue(member) == []
