"""A number the tax authority already had (DUPLICATE, SDI 00002, KSeF DuplicateInvoice), against the sandbox's
Clearvo over a real socket: the portal compares with what it sent under the number (SAME or DIFFERENT), a
person adopts the earlier outcome or issues a new number, and both are in the audit log."""

import json
from functools import partial

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clearfacts_app.models import Activity
from invoicing import duplicates
from invoicing.duplicates import DecisionRefused, duplicate_adopt, duplicate_renumber, submissions_reconcile
from invoicing.models import BookFiling, DuplicateMatch, Invoice, Submission
from invoicing.polling import submissions_poll_due
from invoicing.submissions import submission_send
from tests.invoicing.duplicate_helpers import answered, reached_then_released
from tests.invoicing.polling_helpers import make_due, poll_until
from tests.invoicing.submit_helpers import body_with, new_key, post_to_sandbox, ready_draft, submitted

pytestmark = pytest.mark.slow

State = Submission.State
# SDI decides in 4 minutes, KSeF in 30 s, AEAT in 60 s: under a second here.
FAST = 300


@pytest.fixture
def sandbox(live_clearvo, dispatched, settings):
    settings.SANDBOX_TIME_FACTOR = FAST
    return live_clearvo


DUPLICATE_ANSWERS = [
    pytest.param("IT", "REJECTED", {"source": "SDI", "code": "00002"}, id="IT-SDI-00002"),
    pytest.param("PL", "REJECTED", {"source": "KSeF", "code": "DuplicateInvoice"}, id="PL-KSeF-DuplicateInvoice"),
    pytest.param("ES", "DUPLICATE", {}, id="ES-DUPLICATE"),
    pytest.param("DE", "DUPLICATE", {}, id="DE-DUPLICATE-on-the-POST"),
]


# SAME: the authority holds this very invoice


@pytest.mark.parametrize(("country", "status", "error"), DUPLICATE_ANSWERS)
def test_the_same_invoice_sent_again_is_recognised_and_its_earlier_outcome_adopted_once(
    sandbox, administration, member, country, status, error
):
    invoice = ready_draft(administration, member, country)
    first = reached_then_released(invoice, member)

    second = answered(invoice, member)

    assert second.clearance_status == status
    assert {key: second.error.get(key) for key in error} == error
    assert second.body_sha256 == first.body_sha256 and second.idempotency_key != first.idempotency_key
    assert (second.duplicate, second.duplicate_of_id) == (DuplicateMatch.SAME, first.pk)
    invoice.refresh_from_db()
    assert invoice.status in (Invoice.Status.REJECTED, Invoice.Status.DUPLICATE)

    with pytest.raises(DecisionRefused, match="Confirm"):
        duplicate_adopt(submission=second, user=member, confirmed=False)
    invoice.refresh_from_db()
    assert invoice.status != Invoice.Status.ACCEPTED and not Activity.objects.filter(action="invoice.duplicate_adopted")

    adopted = duplicate_adopt(submission=second, user=member, confirmed=True)

    assert adopted.status == Invoice.Status.ACCEPTED
    second.refresh_from_db()
    assert second.adopted_by == member and second.adopted_at is not None
    audit = Activity.objects.get(action="invoice.duplicate_adopted")
    assert audit.actor == member and audit.changes == {"status": [status.lower(), "accepted"]}
    assert audit.data["submission"] == second.pk
    assert audit.data["earlier"] == {
        "submission": first.pk,
        "invoice": invoice.pk,
        "idempotency_key": str(first.idempotency_key),
        "body_sha256": first.body_sha256,
        "sent_at": Submission.objects.get(pk=first.pk).first_attempt_at.isoformat(),
        "submitted_by": member.email,
        "reference_id": "",  # its answer was lost: the portal never learnt Clearvo's reference
        "clearance_status": "",
        "cleared_at": "",
    }
    assert BookFiling.objects.filter(invoice=invoice).count() == 1

    with pytest.raises(DecisionRefused, match="not waiting for a decision"):
        duplicate_adopt(submission=second, user=member, confirmed=True)
    assert BookFiling.objects.filter(invoice=invoice).count() == 1
    assert Activity.objects.filter(action="invoice.duplicate_adopted").count() == 1


def test_adopting_an_invoice_already_in_the_books_files_nothing_twice(sandbox, administration, member):
    invoice = ready_draft(administration, member, "DE")
    reached_then_released(invoice, member)
    second = answered(invoice, member)
    filed = BookFiling.objects.create(invoice=invoice, state=BookFiling.State.HANDED_OVER)

    duplicate_adopt(submission=second, user=member, confirmed=True)

    assert list(BookFiling.objects.filter(invoice=invoice)) == [filed]
    filed.refresh_from_db()
    assert filed.state == BookFiling.State.HANDED_OVER


def test_a_drafter_may_not_adopt(sandbox, administration, member, drafter):
    invoice = ready_draft(administration, member, "DE")
    reached_then_released(invoice, member)
    second = answered(invoice, member)

    with pytest.raises(DecisionRefused, match="not submit"):
        duplicate_adopt(submission=second, user=drafter, confirmed=True)

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DUPLICATE and not BookFiling.objects.exists()


# DIFFERENT: another invoice holds the number


def test_a_number_used_outside_the_portal_gets_a_new_number_and_is_then_accepted(sandbox, administration, member):
    invoice = ready_draft(administration, member, "IT")
    submission = submitted(invoice, member)

    def other_content(body):
        body["lines"][0]["description"] = "Something else entirely"

    # Another program of the office sent a different invoice under the same number and supplier.
    assert post_to_sandbox(body_with(submission, other_content), idempotency_key=new_key()).status_code == 200
    assert submission_send(submission.pk) == State.SENT
    make_due(submission)
    poll_until(lambda: Submission.objects.get(pk=submission.pk).terminal, poll=submissions_poll_due, timeout=15)

    submission.refresh_from_db()
    assert (submission.clearance_status, submission.error["code"]) == ("REJECTED", "00002")
    assert (submission.duplicate, submission.duplicate_of) == (DuplicateMatch.DIFFERENT, None)
    with pytest.raises(DecisionRefused):
        duplicate_adopt(submission=submission, user=member, confirmed=True)
    invoice.refresh_from_db()
    old_number, old_version = invoice.invoice_number, invoice.version
    expected = duplicates.next_number(invoice)
    assert expected != old_number

    renumbered = duplicate_renumber(invoice=invoice, user=member)

    assert renumbered.status == Invoice.Status.DRAFT and renumbered.invoice_number == expected
    assert renumbered.version == old_version + 1
    audit = Activity.objects.get(action="invoice.renumbered")
    assert audit.actor == member
    assert audit.changes == {"invoice_number": [old_number, expected], "status": ["rejected", "draft"]}
    assert Submission.objects.get(pk=submission.pk).invoice_number == old_number, "what was sent stays on record"
    with pytest.raises(DecisionRefused):
        duplicate_renumber(invoice=renumbered, user=member)

    again = answered(renumbered, member)

    assert again.idempotency_key != submission.idempotency_key
    assert json.loads(bytes(again.body))["invoiceNumber"] == expected
    assert (again.clearance_status, again.duplicate) == ("ACCEPTED", "")
    assert again.invoice.status == Invoice.Status.ACCEPTED


def test_other_content_sent_by_the_portal_under_the_number_is_a_different_invoice(sandbox, administration, member):
    invoice = ready_draft(administration, member, "ES")
    first = reached_then_released(invoice, member)
    invoice.lines.update(description="Corrected description")  # edited after the release

    second = answered(invoice, member)

    assert second.clearance_status == "DUPLICATE" and second.body_sha256 != first.body_sha256
    assert (second.duplicate, second.duplicate_of_id) == (DuplicateMatch.DIFFERENT, first.pk)
    with pytest.raises(DecisionRefused):
        duplicate_adopt(submission=second, user=member, confirmed=True)


def test_the_duplicate_trigger_without_any_earlier_send_is_a_number_used_outside_the_portal(
    sandbox, administration, member
):
    invoice = ready_draft(administration, member, "DE", invoice_number="2026-DE-0042-DUPLICATE")
    submission = submitted(invoice, member)

    assert submission_send(submission.pk) == State.SENT

    submission.refresh_from_db()
    assert (submission.clearance_status, submission.duplicate, submission.duplicate_of) == (
        "DUPLICATE",
        DuplicateMatch.DIFFERENT,
        None,
    )
    invoice.refresh_from_db()
    assert duplicates.duplicate_reconciliation(invoice).can_renumber


# What counts as an earlier send


def recorded_send(invoice, member, number: str, sha256: str, **fields) -> Submission:
    """A send of `invoice` under `number` as the portal records it (body hash `sha256`): answered,
    unless `fields` say otherwise."""
    fields = {
        "state": State.SENT,
        "terminal": True,
        "attempts": 1,
        "body": json.dumps({"invoiceNumber": number}).encode(),
        "body_sha256": sha256,
        "invoice_number": number,
        "api_mode": "test",
    } | fields
    return Submission.objects.create(
        invoice=invoice, submitted_by=member, invoice_version=1, idempotency_key=new_key(), **fields
    )


def test_only_sends_that_may_have_reached_the_authority_count(administration, member):
    invoice = ready_draft(administration, member, "IT", invoice_number="2026-IT-0777")
    invoice.status = Invoice.Status.REJECTED
    invoice.save()

    recorded = partial(recorded_send, invoice, member, "2026-IT-0777", "a" * 64)
    recorded(state=State.REFUSED)
    recorded(state=State.QUEUED, attempts=0)
    recorded(state=State.FAILED, reason_code=Submission.Reason.KEY_REFUSED)
    recorded(clearance_status="REJECTED", error={"source": "SDI", "code": "00102"})
    recorded(clearance_status="ACCEPTED", api_mode="live")  # another Clearvo environment
    counted = recorded(state=State.CANCELLED, invoice_number="", body=b'{"invoiceNumber": "2026-IT-0777"}')
    same = recorded(clearance_status="REJECTED", error={"source": "SDI", "code": "00002"}, state=State.SENT)
    other = recorded(body_sha256="b" * 64, clearance_status="REJECTED", error={"source": "SDI", "code": "00002"})

    with CaptureQueriesContext(connection) as queries:
        submissions_reconcile([same.pk, other.pk])

    assert len(queries) <= 4, "a fixed number of queries, however many duplicates"
    same.refresh_from_db()
    other.refresh_from_db()
    assert (same.duplicate, same.duplicate_of_id) == (DuplicateMatch.SAME, counted.pk)
    # `same` was itself answered as a duplicate: not what the authority holds.
    assert (other.duplicate, other.duplicate_of_id) == (DuplicateMatch.DIFFERENT, counted.pk)
    with CaptureQueriesContext(connection) as queries:
        submissions_reconcile([])
    assert len(queries) == 0


def test_the_earlier_outcome_is_not_adopted_from_another_invoice_nor_before_it_is_decided(administration, member):
    """Adopting makes the invoice ACCEPTED and files it in the books: never when the authority's record
    is another invoice of the portal (it would be filed twice), nor while the earlier send waits."""
    original = ready_draft(administration, member, "IT", invoice_number="2026-IT-0900")
    copy = ready_draft(administration, member, "IT", invoice_number="2026-IT-0901")
    Invoice.objects.filter(pk=copy.pk).update(status=Invoice.Status.REJECTED)

    earlier = recorded_send(original, member, "2026-IT-0900", "c" * 64, clearance_status="ACCEPTED")
    answer = recorded_send(
        copy, member, "2026-IT-0900", "c" * 64, clearance_status="REJECTED", error={"source": "SDI", "code": "00002"}
    )
    submissions_reconcile([answer.pk])
    answer.refresh_from_db()
    assert (answer.duplicate, answer.duplicate_of_id) == (DuplicateMatch.SAME, earlier.pk)

    with pytest.raises(DecisionRefused, match="invoice 2026-IT-0900 of the portal"):
        duplicate_adopt(submission=answer, user=member, confirmed=True)
    copy.refresh_from_db()
    assert duplicates.duplicate_reconciliation(copy).can_adopt is False

    Submission.objects.filter(pk=earlier.pk).update(invoice=copy, clearance_status="PENDING", terminal=False)
    with pytest.raises(DecisionRefused, match="still waiting"):
        duplicate_adopt(submission=answer, user=member, confirmed=True)
    copy.refresh_from_db()
    assert copy.status == Invoice.Status.REJECTED and not BookFiling.objects.exists()
    assert not Activity.objects.filter(action="invoice.duplicate_adopted").exists()


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        ("DUPLICATE", {}, True),
        ("REJECTED", {"source": "SDI", "code": "00002"}, True),
        ("REJECTED", {"source": "KSeF", "code": "DuplicateInvoice"}, True),
        ("REJECTED", {"source": "SDI", "code": "00102"}, False),
        ("REJECTED", {"source": "KSeF", "code": "InvalidNip"}, False),
        ("REJECTED", {"source": "PEPPOL_AP", "code": "RE"}, False),
        ("REJECTED", None, False),
        ("ACCEPTED", {}, False),
    ],
)
def test_which_answers_say_the_number_is_already_used(status, error, expected):
    assert duplicates.is_duplicate_answer(status, error) is expected


# The invoice page and its two confirmation pages


def url(invoice: Invoice, action: str = "") -> str:
    base = f"/administrations/{invoice.administration.company_number}/invoices/{invoice.pk}/"
    return f"{base}duplicate-number/{action}/" if action else base


def messages_of(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


@pytest.fixture
def same_twice(sandbox, administration, member):
    """A German invoice whose second send Clearvo answered DUPLICATE: the portal sent it before (SAME)."""
    invoice = ready_draft(administration, member, "DE")
    first = reached_then_released(invoice, member)
    return invoice, first, answered(invoice, member)


def test_the_page_says_it_is_the_same_invoice_and_a_member_adopts_it_after_confirming(client, member, same_twice):
    invoice, first, second = same_twice
    client.force_login(member)

    page = client.get(url(invoice)).content.decode()

    assert 'data-verdict="same"' in page and "It is the same invoice, already sent" in page
    assert str(first.idempotency_key) in page and first.body_sha256[:12] + "…" in page
    assert first.body_sha256[:13] not in page
    assert "Jan Peeters" in page and url(invoice, "adopt") in page and url(invoice, "renumber") not in page

    confirm = client.get(url(invoice, "adopt"))
    assert confirm.status_code == 200
    assert f"I confirm the tax authority&#x27;s record of number {invoice.invoice_number} is this invoice" in (
        confirm.content.decode()
    )

    unticked = client.post(url(invoice, "adopt"), {})
    assert unticked.status_code == 200 and "Tick the box" in unticked.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DUPLICATE and not Activity.objects.filter(
        action="invoice.duplicate_adopted"
    )

    done = client.post(url(invoice, "adopt"), {"confirm": "on"})

    assert done.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ACCEPTED
    assert Activity.objects.filter(action="invoice.duplicate_adopted", actor=member).count() == 1
    after = client.get(url(invoice)).content.decode()
    assert 'data-testid="duplicate-adopted"' in after and url(invoice, "adopt") not in after


def test_a_drafter_sees_no_buttons_and_is_refused(client, drafter, same_twice):
    invoice, _first, _second = same_twice
    client.force_login(drafter)

    assert url(invoice, "adopt") not in client.get(url(invoice)).content.decode()
    assert client.get(url(invoice, "adopt")).status_code == 403
    assert client.post(url(invoice, "adopt"), {"confirm": "on"}).status_code == 403
    assert client.post(url(invoice, "renumber"), {"confirm": "yes"}).status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DUPLICATE


def test_another_tenants_invoice_is_not_found(client, outsider, other_administration, same_twice):
    invoice, _first, _second = same_twice
    client.force_login(outsider)

    assert client.post(url(invoice, "adopt"), {"confirm": "on"}).status_code == 404
    # Its id under the outsider's own administration is not theirs either.
    own = f"/administrations/{other_administration.company_number}/invoices/{invoice.pk}/duplicate-number/adopt/"
    assert client.post(own, {"confirm": "on"}).status_code == 404
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DUPLICATE


def test_a_decision_the_state_does_not_allow_is_a_message_and_changes_nothing(client, member, same_twice):
    invoice, _first, _second = same_twice
    client.force_login(member)

    response = client.post(url(invoice, "renumber"), {"confirm": "yes"})  # SAME: no new number

    assert response.status_code == 302
    assert any("not waiting for a decision about a duplicate number" in text for text in messages_of(response))
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DUPLICATE and not Activity.objects.filter(action="invoice.renumbered")

    draft = ready_draft(invoice.administration, member, "DE")
    assert client.get(url(draft, "adopt")).status_code == 302
    assert client.get(url(draft, "renumber")).status_code == 302


def test_the_renumber_page_shows_the_next_number_and_makes_a_draft_of_it(client, sandbox, administration, member):
    invoice = ready_draft(administration, member, "DE", invoice_number="2026-DE-0099-DUPLICATE")
    submission_send(submitted(invoice, member).pk)
    client.force_login(member)
    expected = duplicates.next_number(invoice)

    page = client.get(url(invoice)).content.decode()
    assert 'data-verdict="different"' in page and "no record of sending this number" in page
    confirm = client.get(url(invoice, "renumber")).content.decode()
    assert f"<strong>{expected}</strong>" in confirm

    response = client.post(url(invoice, "renumber"), {"confirm": "yes"})

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.status, invoice.invoice_number) == (Invoice.Status.DRAFT, expected)
    assert any(expected in text for text in messages_of(response))
    assert 'data-testid="duplicate-number"' not in client.get(url(invoice)).content.decode()


def test_the_confirmation_is_in_the_users_language(client, member, same_twice):
    invoice, _first, _second = same_twice
    client.force_login(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"

    page = client.get(url(invoice, "adopt")).content.decode()

    assert "Ik bevestig" in page


def test_an_invoice_the_authority_holds_as_sent_is_not_offered_for_fixing(client, sandbox, administration, member):
    """SDI 00002 on the same bytes sent before: changing the number and sending again would register the
    sale twice, so "Fix and send again" is neither offered nor accepted; adopting is the way out."""
    invoice = ready_draft(administration, member, "IT")
    reached_then_released(invoice, member)
    answered(invoice, member)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.REJECTED
    client.force_login(member)

    page = client.get(url(invoice)).text
    assert 'data-testid="duplicate-adopt"' in page and "/reopen/" not in page
    assert "The portal compared this with what it sent before under the number" in page

    response = client.post(url(invoice) + "reopen/", follow=True)
    assert any("adopt that earlier outcome" in message for message in messages_of(response))
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.REJECTED
