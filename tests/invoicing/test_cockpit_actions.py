"""The clearance queue's actions, posted as the queue's form posts them (/office/clearance/act/): assigning
(the assignee told in the bell and by e-mail, the audit row), checking a status now and sending again
with the same key against the live sandbox's Clearvo, holding an unconfirmed send so that nothing
leaves, and each row refused on its own: a role too low, another tenant's item, bad input."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from clearfacts_app.activity import describe
from clearfacts_app.models import Activity, Document, Notification
from clearfacts_app.roles import Role
from invoicing import cockpit_actions, explanations, polling
from invoicing.models import BookFiling, Exchange, Invoice, Submission
from invoicing.submissions import submission_send, submissions_sweep
from invoicing.tasks import poll_submission
from sandbox.clearvo.idempotency import payload_hash
from sandbox.clearvo.models import IdempotencyRecord, InvoiceSubmission
from sandbox.instrument import fail_next
from sandbox.models import RequestLog
from tests.factories import make_administration, make_document, make_invoice, make_user
from tests.invoicing.clearance_helpers import make_submission
from tests.invoicing.notification_helpers import tasks_run_here  # noqa: F401 (a fixture)
from tests.invoicing.polling_helpers import sent
from tests.invoicing.submit_helpers import posts, ready_draft, submitted

State = Submission.State
ACT = "/office/clearance/act/"
QUEUE = "/office/clearance/"
STATUS = "GET /invoices/status"


def act(client, user, action, items, **fields):
    client.force_login(user)
    return client.post(ACT, {"action": action, "item": items, **fields})


def messages_of(response) -> list[str]:
    """The messages this post added (those of an earlier post, never shown, wait in the session)."""
    return [str(message) for message in response.wsgi_request._messages._queued_messages]


def key(item) -> str:
    return f"{'invoice' if isinstance(item, Invoice) else 'document'}:{item.pk}"


def submitting_invoice(administration, author) -> Invoice:
    return make_invoice(administration, author, invoice_number="2026-0042", status=Invoice.Status.SUBMITTING)


@pytest.fixture
def invoice(administration, member):
    return make_invoice(administration, member, invoice_number="2026-0042", status=Invoice.Status.REJECTED)


@pytest.fixture
def document(administration, member):
    return make_document(administration, member, "aankoop.pdf", status=Document.Status.FAILED)


# --- assigning ---


def test_assigning_tells_the_assignee_by_bell_and_e_mail_and_is_in_the_audit_log(
    client,
    member,
    colleague,
    invoice,
    document,
    tasks_run_here,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, member, "assign", [key(invoice), key(document)], assignee=str(colleague.pk))

    assert response.status_code == 302 and response["Location"] == QUEUE
    assert messages_of(response) == ["2 problems assigned to Sara Wouters."]
    invoice.refresh_from_db()
    document.refresh_from_db()
    assert invoice.assignee == colleague and document.assignee == colleague
    assert invoice.assigned_at is not None and document.assigned_at is not None
    audit = {row.action: row for row in Activity.objects.filter(action__endswith=".assigned")}
    assert set(audit) == {"invoice.assigned", "document.assigned"}
    assert audit["invoice.assigned"].actor == member
    assert audit["invoice.assigned"].changes == {"assignee": [None, "Sara Wouters"]}
    assert describe(audit["invoice.assigned"]) == "Jan Peeters asked Sara Wouters to take care of invoice 2026-0042"
    assert describe(audit["document.assigned"]) == "Jan Peeters asked Sara Wouters to take care of aankoop.pdf"
    told = Notification.objects.filter(recipient=colleague, kind=Notification.Kind.ASSIGNED).order_by("pk")
    assert [row.data for row in told] == [
        {"invoice": invoice.pk, "number": "2026-0042"},
        {"document": document.pk, "filename": "aankoop.pdf"},
    ]
    assert told[0].key.startswith(f"assigned:invoice:{invoice.pk}:") and told[0].actor == member
    assert sorted(message.to[0] for message in mail.outbox) == [colleague.email, colleague.email]
    assert "Jan Peeters asked you to take care of invoice 2026-0042" in mail.outbox[0].body + mail.outbox[1].body


def test_unassigning_clears_the_assignee_and_tells_nobody(
    client, member, colleague, invoice, django_capture_on_commit_callbacks
):
    Invoice.objects.filter(pk=invoice.pk).update(assignee=colleague, assigned_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, member, "assign", [key(invoice)], assignee="nobody")

    assert messages_of(response) == ["1 problem is assigned to nobody now."]
    invoice.refresh_from_db()
    assert (invoice.assignee, invoice.assigned_at) == (None, None)
    row = Activity.objects.get(action="invoice.assigned")
    assert row.changes == {"assignee": ["Sara Wouters", None]}
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("language", "summary", "refusal"),
    [
        ("nl", "1 probleem toegewezen aan Sara Wouters.", "bogus: Niet gevonden bij wat u kunt zien."),
        ("fr", "1 problème attribué à Sara Wouters.", "bogus : Introuvable parmi les éléments que vous pouvez voir."),
    ],
)
def test_the_messages_are_in_the_users_language(client, member, colleague, invoice, language, summary, refusal):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    response = act(client, member, "assign", [key(invoice), "bogus"], assignee=str(colleague.pk))

    assert messages_of(response) == [summary, refusal]


def test_taking_a_problem_oneself_is_recorded_without_notifying_oneself(client, member, invoice):
    act(client, member, "assign", [key(invoice)], assignee=str(member.pk))

    assert Invoice.objects.get(pk=invoice.pk).assignee == member
    assert Activity.objects.filter(action="invoice.assigned").count() == 1
    assert not Notification.objects.exists()


def test_an_assignee_who_cannot_see_the_administration_is_refused_on_that_row(
    client, member, invoice, colleague_without_access
):
    response = act(client, member, "assign", [key(invoice)], assignee=str(colleague_without_access.pk))

    assert messages_of(response) == [
        "Nothing was changed.",
        "Invoice 2026-0042: Tom Claes cannot see Bakkerij Janssens BV: choose someone who can.",
    ]
    assert Invoice.objects.get(pk=invoice.pk).assignee is None
    assert not Activity.objects.filter(action="invoice.assigned").exists()


@pytest.mark.parametrize("assignee", ["outsider", "999999", "abc", "١٢", None])
def test_an_assignee_outside_the_office_or_unreadable_changes_nothing(client, member, invoice, outsider, assignee):
    fields = {} if assignee is None else {"assignee": str(outsider.pk) if assignee == "outsider" else assignee}

    response = act(client, member, "assign", [key(invoice)], **fields)

    assert response.status_code == 302
    assert messages_of(response) == ["Choose who takes care of them from the list (or “Nobody”), then assign."]
    assert Invoice.objects.get(pk=invoice.pk).assignee is None and not Activity.objects.exists()


def test_the_assignees_of_each_administration_are_its_active_readers_by_name_in_one_query(
    office, administration, owner, member, viewer, colleague_without_access, outsider
):
    second = make_administration(office, "Brouwerij De Leeuw NV")
    anna = make_user(office, administrations=[administration, second], name="Anna Aerts")
    make_user(office, administrations=[administration], name="Gone Away", is_active=False)

    with CaptureQueriesContext(connection) as queries:
        found = cockpit_actions.assignees_for([administration, second])

    assert len(queries) <= 2
    assert [person.get_full_name() for person in found[administration.pk]] == [
        "Anna Aerts",
        "Els Dupont",
        "Jan Peeters",
        "Lies Maes",
    ]
    assert found[second.pk] == [anna]
    assert cockpit_actions.assignees_for([]) == {}


# --- who may do what, row by row ---


def test_a_viewer_is_refused_row_by_row_not_with_a_403(client, viewer, invoice, colleague):
    for action, fields in [("assign", {"assignee": str(colleague.pk)}), ("poll", {}), ("retry", {}), ("hold", {})]:
        response = act(client, viewer, action, [key(invoice)], **fields)

        assert response.status_code == 302, action
        assert messages_of(response)[0] == "Nothing was changed."
        assert "Your role on Bakkerij Janssens BV does not let you" in messages_of(response)[1]
    assert Invoice.objects.get(pk=invoice.pk).assignee is None and not Activity.objects.exists()


def test_a_drafter_may_assign_and_check_but_not_send_again_or_hold(client, drafter, colleague, administration):
    submission = make_submission(
        submitting_invoice(administration, drafter), drafter, state=State.HELD, reason_code="gave-up"
    )
    invoice = submission.invoice

    assert messages_of(act(client, drafter, "assign", [key(invoice)], assignee=str(colleague.pk))) == [
        "1 problem assigned to Sara Wouters."
    ]
    # The right passes; a held send has no status to check yet.
    assert messages_of(act(client, drafter, "poll", [key(invoice)]))[1] == (
        "Invoice 2026-0042: It has no status to check: the authority is not deciding on it."
    )
    for action in ("retry", "hold"):
        assert messages_of(act(client, drafter, action, [key(invoice)]))[1] == (
            "Invoice 2026-0042: Your role on Bakkerij Janssens BV does not let you submit its invoices."
        )
    submission.refresh_from_db()
    assert submission.state == State.HELD and submission.attempts == 1


def test_another_tenants_items_and_bad_keys_are_not_found_and_nothing_of_them_changes(
    client, member, colleague, invoice, outsider, other_administration
):
    theirs = make_invoice(other_administration, outsider, invoice_number="THEIRS-1")
    their_document = make_document(other_administration, outsider, "geheim.pdf", status=Document.Status.FAILED)
    items = [key(theirs), key(their_document), "invoice:abc", "bogus", "invoice:0", "document:99999999", key(invoice)]

    response = act(client, member, "assign", items, assignee=str(colleague.pk))

    assert messages_of(response) == [
        "1 problem assigned to Sara Wouters.",
        f"invoice:{theirs.pk}: Not found among the items you can see.",
        f"document:{their_document.pk}: Not found among the items you can see.",
        "invoice:abc: Not found among the items you can see.",
        "bogus: Not found among the items you can see.",
        "invoice:0: Not found among the items you can see.",
        "document:99999999: Not found among the items you can see.",
    ]
    assert "THEIRS" not in " ".join(messages_of(response)) and "geheim" not in " ".join(messages_of(response))
    assert Invoice.objects.get(pk=theirs.pk).assignee is None
    assert Document.objects.get(pk=their_document.pk).status == Document.Status.FAILED
    retried = act(client, member, "retry", [key(their_document)])
    assert Document.objects.get(pk=their_document.pk).status == Document.Status.FAILED
    assert messages_of(retried)[1].endswith("Not found among the items you can see.")


def test_a_client_user_acts_only_on_their_own_companies(client, office, administration, invoice):
    other_company = make_administration(office, "Slagerij Peeters BV")
    elsewhere = make_invoice(other_company, make_user(office, administrations=[other_company]), invoice_number="SP-1")
    client_user = make_user(
        office,
        kind=Membership.Kind.CLIENT,
        administrations=[administration],
        administration_role=Role.APPROVER,
        name="Koen Maes",
    )

    response = act(client, client_user, "assign", [key(invoice), key(elsewhere)], assignee=str(client_user.pk))

    assert messages_of(response) == [
        "1 problem assigned to Koen Maes.",
        f"invoice:{elsewhere.pk}: Not found among the items you can see.",
    ]
    assert Invoice.objects.get(pk=invoice.pk).assignee == client_user
    assert Invoice.objects.get(pk=elsewhere.pk).assignee is None


# --- bad input ---


ITEM = "the invoice's key"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "delete", "item": [ITEM]}, "Choose what to do with the problems ticked."),
        ({"item": [ITEM]}, "Choose what to do with the problems ticked."),
        ({"action": "assign", "assignee": ""}, "Tick the problems to act on first."),
        ({"action": "assign", "item": ["", "  "], "assignee": ""}, "Tick the problems to act on first."),
        (
            {"action": "assign", "item": [ITEM, *(f"invoice:{n}" for n in range(1, 101))], "assignee": ""},
            "At most 100 problems can be handled at once.",
        ),
        # Assign pressed without choosing anyone: nobody's assignment is cleared by accident.
        (
            {"action": "assign", "item": [ITEM], "assignee": ""},
            "Choose who takes care of them from the list (or “Nobody”), then assign.",
        ),
    ],
)
def test_bad_input_gives_a_message_and_changes_nothing(client, administration, member, colleague, fields, message):
    invoice = make_invoice(administration, member, assignee=colleague)
    items = [key(invoice) if item == ITEM else item for item in fields.get("item", [])]
    client.force_login(member)

    response = client.post(ACT, fields | {"item": items})

    assert response.status_code == 302 and messages_of(response) == [message]
    assert Invoice.objects.get(pk=invoice.pk).assignee == colleague and not Activity.objects.exists()


@pytest.mark.parametrize(
    ("next_url", "back"),
    [
        ("/invoices/?status=rejected", "/invoices/?status=rejected"),
        ("https://evil.example/", QUEUE),
        ("//evil.example/", QUEUE),
        ("/\\evil.example/", QUEUE),
        ("javascript:alert(1)", QUEUE),
        ("", QUEUE),
    ],
)
def test_it_goes_back_only_to_a_page_of_the_portal(client, member, invoice, next_url, back):
    response = act(client, member, "assign", [key(invoice)], assignee="nobody", next=next_url)

    assert response.status_code == 302 and response["Location"] == back


def test_a_get_is_not_an_action(client, member):
    client.force_login(member)

    assert client.get(ACT).status_code == 405


def test_a_signed_out_post_goes_to_sign_in_and_changes_nothing(client, invoice, colleague):
    response = client.post(ACT, {"action": "assign", "item": [key(invoice)], "assignee": str(colleague.pk)})

    assert response.status_code == 302 and "/accounts/" in response["Location"]
    assert Invoice.objects.get(pk=invoice.pk).assignee is None


# --- sending again: documents, book filings, an expired key ---


def test_a_failed_document_is_sent_again_by_a_drafter_and_a_held_one_is_not(client, drafter, administration):
    failed = make_document(administration, drafter, "factuur-1.pdf", status=Document.Status.FAILED)
    held = make_document(administration, drafter, "factuur-2.pdf", status=Document.Status.HELD)

    response = act(client, drafter, "retry", [key(failed), key(held)])

    assert messages_of(response) == [
        "1 problem is being sent again.",
        "Document factuur-2.pdf: factuur-2.pdf is held: Clearfacts may already have this file. Open the document "
        "to send it anyway or cancel it.",
    ]
    assert Document.objects.get(pk=failed.pk).status == Document.Status.QUEUED
    assert Document.objects.get(pk=held.pk).status == Document.Status.HELD
    assert Activity.objects.get(action="document.retried").actor == drafter


def test_a_failed_book_filing_is_prepared_again(client, member, administration):
    accepted = make_invoice(administration, member, invoice_number="2026-0050", status=Invoice.Status.ACCEPTED)
    filing = BookFiling.objects.create(invoice=accepted, state=BookFiling.State.FAILED, error="not-allowed")

    response = act(client, member, "retry", [key(accepted)])

    assert messages_of(response) == ["1 problem is being sent again."]
    filing.refresh_from_db()
    assert (filing.state, filing.error, filing.requested_by) == (BookFiling.State.PENDING, "", member)
    row = Activity.objects.get(action="invoice.book_filing_retried")
    assert describe(row) == "Jan Peeters filed invoice 2026-0050 in the books again"


def test_a_book_filings_failed_document_is_sent_again(client, member, administration):
    accepted = make_invoice(administration, member, invoice_number="2026-0051", status=Invoice.Status.ACCEPTED)
    upload = make_document(administration, member, "2026-0051.xml", status=Document.Status.NEEDS_SIGN_IN)
    BookFiling.objects.create(invoice=accepted, state=BookFiling.State.HANDED_OVER, document=upload)

    response = act(client, member, "retry", [key(accepted)])

    assert messages_of(response) == ["1 problem is being sent again."]
    assert Document.objects.get(pk=upload.pk).status == Document.Status.QUEUED


def test_a_send_whose_key_clearvo_may_have_forgotten_is_refused_with_the_services_reason(
    client, member, administration
):
    old = timezone.now() - settings.CLEARVO_KEY_LIFETIME - timedelta(hours=1)
    submission = make_submission(
        submitting_invoice(administration, member), member, state=State.HELD, first_attempt_at=old
    )

    response = act(client, member, "retry", [key(submission.invoice)])

    assert messages_of(response)[0] == "Nothing was changed."
    assert "older than the 24 hours Clearvo remembers it" in messages_of(response)[1]
    assert Submission.objects.get(pk=submission.pk).state == State.HELD


def test_nothing_to_send_again_is_said(client, member, invoice):
    response = act(client, member, "retry", [key(invoice)])

    assert messages_of(response)[1] == "Invoice 2026-0042: Nothing of it waits to be sent again."


# --- holding ---


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (State.SENDING, "Invoice 2026-0042 is being sent to Clearvo at this moment: wait for its answer."),
        (State.SENT, "It has no send waiting for Clearvo: there is nothing to hold."),
        (State.REFUSED, "It has no send waiting for Clearvo: there is nothing to hold."),
    ],
)
def test_only_a_queued_or_retrying_send_is_held(client, member, administration, state, reason):
    submission = make_submission(submitting_invoice(administration, member), member, state=state)

    response = act(client, member, "hold", [key(submission.invoice)])

    assert messages_of(response) == ["Nothing was changed.", f"Invoice 2026-0042: {reason}"]
    assert Submission.objects.get(pk=submission.pk).state == state


def test_a_held_send_is_explained_as_held_by_a_colleague():
    explanation = explanations.for_reason(cockpit_actions.HELD_BY_PERSON)

    assert explanation.key == "held-by-person" and explanation.short == "held by a colleague"
    assert explanation in explanations.every_explanation()


# --- against the live sandbox's Clearvo ---


@pytest.fixture
def polls_dispatched(monkeypatch):
    """The status checks handed to the broker (recorded here; the test runs the task)."""
    calls = []
    monkeypatch.setattr(cockpit_actions, "_dispatch_poll", calls.append)
    return calls


def status_checks():
    return RequestLog.objects.filter(service="clearvo", operation=STATUS)


@pytest.mark.slow
def test_checking_now_asks_clearvo_once_and_not_again_within_the_floor(
    live_clearvo, client, administration, member, drafter, polls_dispatched
):
    submission = sent(administration, member, "IT")
    later = timezone.now() + timedelta(minutes=4)
    Submission.objects.filter(pk=submission.pk).update(next_poll_at=later)

    response = act(client, drafter, "poll", [f"invoice:{submission.invoice_id}"])

    assert messages_of(response) == ["The status of 1 invoice is being asked of Clearvo."]
    assert polls_dispatched == [submission.pk]
    claimed = Submission.objects.get(pk=submission.pk).next_poll_at
    assert claimed > later, "claimed for the task: the periodic poller leaves it alone meanwhile"
    poll_submission(submission.pk)

    submission.refresh_from_db()
    assert status_checks().count() == 1 and submission.polls == 1
    assert submission.next_poll_at != claimed, "the answer set the next check"
    assert Exchange.objects.filter(submission=submission, method="GET").count() == 1
    assert Activity.objects.get(action="invoice.status_check_requested").actor == drafter

    again = act(client, drafter, "poll", [f"invoice:{submission.invoice_id}"])

    number = submission.invoice.invoice_number
    assert messages_of(again) == ["Nothing was changed.", f"Invoice {number}: It was checked a moment ago."]
    assert polls_dispatched == [submission.pk] and status_checks().count() == 1


@pytest.mark.slow
def test_a_status_check_stopped_by_a_refused_key_is_not_asked_again(
    live_clearvo, client, administration, member, polls_dispatched
):
    submission = sent(administration, member, "IT")
    Submission.objects.filter(pk=submission.pk).update(
        next_poll_at=None, reason_code=polling.Reason.KEY_REFUSED, reason_params={"status_code": 401}
    )

    response = act(client, member, "poll", [f"invoice:{submission.invoice_id}"])

    assert "Clearvo refused the office's API key" in messages_of(response)[1]
    assert polls_dispatched == [] and status_checks().count() == 0


@pytest.mark.slow
def test_a_rate_limited_status_check_waits_for_clearvos_retry_after(
    live_clearvo, client, administration, member, polls_dispatched
):
    submission = sent(administration, member, "IT")
    Submission.objects.filter(pk=submission.pk).update(
        next_poll_at=timezone.now() + timedelta(seconds=40),
        reason_code=polling.Reason.CHECK_FAILING,
        reason_params={"failures": 1, "error": "Unavailable", "status_code": 429},
    )

    response = act(client, member, "poll", [f"invoice:{submission.invoice_id}"])

    assert "Clearvo asked the portal to wait" in messages_of(response)[1]
    assert polls_dispatched == [] and status_checks().count() == 0


@pytest.mark.slow
def test_a_held_send_is_not_sent_until_a_person_sends_it_again_with_the_same_key_and_body(
    live_clearvo, client, administration, member, dispatched
):
    submission = submitted(ready_draft(administration, member), member)
    fail_next("clearvo", operation="POST /invoices", when="after", kind="drop")
    assert submission_send(submission.pk) == State.RETRYING  # Clearvo stored it; its answer was lost
    dispatched.clear()

    held = act(client, member, "hold", [f"invoice:{submission.invoice_id}"])

    assert messages_of(held) == ["1 send held: nothing is sent until a person decides."]
    submission.refresh_from_db()
    assert (submission.state, submission.reason_code) == (State.HELD, "held-by-person")
    assert submission.reason_params == {"user": "Jan Peeters"} and submission.next_attempt_at is None
    assert describe(Activity.objects.get(action="invoice.submission_held_by_person")).startswith(
        "Jan Peeters held the submission of invoice"
    )
    # The send task (a copy of it still in the broker) and the sweeper leave it alone.
    assert submission_send(submission.pk) == "not claimable (held)"
    assert submissions_sweep(stale_after=timedelta(0)) == []
    assert posts(submission).count() == 1 and dispatched == []
    # Holding it again changes nothing, and says so.
    twice = messages_of(act(client, member, "hold", [f"invoice:{submission.invoice_id}"]))
    assert any(message.endswith("It is held already: it waits for a person to decide.") for message in twice)
    assert Activity.objects.filter(action="invoice.submission_held_by_person").count() == 1

    again = act(client, member, "retry", [f"invoice:{submission.invoice_id}"])

    assert messages_of(again) == ["1 problem is being sent again."]
    assert dispatched == [(submission.pk, None)]
    assert submission_send(submission.pk) == State.SENT
    submission.refresh_from_db()
    stored = InvoiceSubmission.objects.get()
    assert submission.reference_id == stored.reference_id
    assert set(posts().values_list("idempotency_key", flat=True)) == {str(submission.idempotency_key)}
    assert posts(submission).count() == 2
    record = IdempotencyRecord.objects.get(key=str(submission.idempotency_key))
    assert record.payload_hash == payload_hash(bytes(submission.body)), "the body sent is the one stored"
    assert stored.payload == json.loads(bytes(submission.body))
