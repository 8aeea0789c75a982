"""Clearance on the invoice page: submitting a draft, the timeline (and when it stops asking), a held
send's actions, fixing a rejected invoice, and the clearance record."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from clearfacts_app.models import Activity
from invoicing.models import Invoice, Submission
from tests.factories import make_invoice
from tests.invoicing.clearance_helpers import Clearance, State, fake_outbox, make_exchange, make_submission

Status = Invoice.Status
HTMX = {"HX-Request": "true"}
JAN_15_10H = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)  # 11:00 in Brussels


@pytest.fixture
def outbox(monkeypatch):
    return fake_outbox(monkeypatch)


@pytest.fixture
def invoice(administration, member):
    return make_invoice(administration, member, invoice_number="2026-0001", country="PL", buyer_country="PL")


def url(invoice, action="") -> str:
    base = f"/administrations/{invoice.administration.company_number}/invoices/{invoice.pk}/"
    return f"{base}{action}/" if action else base


def submission_url(submission, action) -> str:
    company = submission.invoice.administration.company_number
    return f"/administrations/{company}/submissions/{submission.pk}/{action}/"


def page(client, user, address, language="en", **headers):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.get(address, headers=headers)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


# --- submitting a draft ---


def test_a_member_submits_the_draft_at_the_version_the_page_showed(client, member, invoice, outbox):
    client.force_login(member)

    response = client.post(url(invoice, "submit"), {"version": "1"})

    assert response.status_code == 302 and response["Location"] == url(invoice) + "#timeline"
    assert outbox.submitted == [(invoice.pk, 1, member.pk)]
    assert messages_of(response) == []  # the timeline says where it stands
    assert Submission.objects.get(invoice=invoice).state == State.QUEUED


def test_a_refused_submit_says_why_and_leaves_the_draft(client, member, invoice, outbox):
    outbox.refuse["2026-0001"] = "The buyer's NIP is missing."
    client.force_login(member)

    response = client.post(url(invoice, "submit"), {"version": "1"}, follow=True)

    assert "The buyer&#x27;s NIP is missing." in response.text
    assert not Submission.objects.exists() and Invoice.objects.get().status == Status.DRAFT


def test_a_submit_from_an_older_page_is_refused_by_the_service(client, member, invoice, outbox):
    Invoice.objects.filter(pk=invoice.pk).update(version=2)
    client.force_login(member)

    response = client.post(url(invoice, "submit"), {"version": "1"})

    assert "2026-0001 changed since the page was opened" in messages_of(response)
    assert not Submission.objects.exists()


def test_a_submit_without_a_version_asks_to_look_again_and_calls_nothing(client, member, invoice, outbox):
    client.force_login(member)

    response = client.post(url(invoice, "submit"), {"version": "soon"})

    assert response.status_code == 302 and outbox.submitted == []
    assert "The page was out of date: check the invoice below and submit it again." in messages_of(response)


def test_a_double_click_makes_one_submission(client, member, invoice, outbox):
    client.force_login(member)

    for _click in range(2):
        client.post(url(invoice, "submit"), {"version": "1"}, headers=HTMX)

    assert Submission.objects.filter(invoice=invoice).count() == 1


def test_an_htmx_submit_sends_the_browser_to_the_invoice_page(client, member, invoice, outbox):
    client.force_login(member)

    response = client.post(url(invoice, "submit"), {"version": "1"}, headers=HTMX)

    # Without the fragment: a location differing only by it would not load the page again.
    assert response.status_code == 200 and response["HX-Redirect"] == url(invoice)


def test_viewers_may_not_submit_outsiders_get_404_and_get_is_405(client, viewer, outsider, invoice, outbox):
    client.force_login(viewer)
    assert client.post(url(invoice, "submit"), {"version": "1"}).status_code == 403
    client.force_login(outsider)
    assert client.post(url(invoice, "submit"), {"version": "1"}).status_code == 404
    client.force_login(viewer)
    assert client.get(url(invoice, "submit")).status_code == 405
    assert outbox.submitted == []


def test_the_draft_page_offers_members_a_submit_button_that_disables_itself(client, member, viewer, invoice):
    text = page(client, member, url(invoice)).text
    form = text[text.index('data-testid="submit-form"') - 400 : text.index('data-testid="submit-invoice"')]

    assert f'action="{url(invoice, "submit")}"' in form and f'hx-post="{url(invoice, "submit")}"' in form
    assert 'hx-disabled-elt="find button"' in form and 'name="version" value="1"' in form
    assert 'data-testid="submit-invoice"' not in page(client, viewer, url(invoice)).text
    Invoice.objects.filter(pk=invoice.pk).update(status=Status.PENDING)
    assert 'data-testid="submit-invoice"' not in page(client, member, url(invoice)).text


# --- the timeline ---


def test_the_timeline_asks_again_every_second_while_the_send_is_under_way(client, member, invoice):
    make_submission(invoice, member, state=State.QUEUED)

    full = page(client, member, url(invoice)).text
    partial = page(client, member, url(invoice, "timeline"), **HTMX)

    assert partial.status_code == 200
    for text in (full, partial.text):
        assert f'hx-get="{url(invoice, "timeline")}" hx-trigger="every 1s" hx-swap="outerHTML"' in text
    assert partial.text.lstrip().startswith('<section id="timeline"')
    assert "Waiting to be sent to Clearvo" in partial.text
    # The header's status comes along, swapped out of band; the page itself has it once, in place.
    assert re.search(r'<span id="invoice-status"[^>]* hx-swap-oob="true">Draft</span>', partial.text)
    assert full.count('<span id="invoice-status"') == 1 and "hx-swap-oob" not in full


def test_a_rejection_seen_live_brings_the_fix_and_send_again_button_into_the_header(client, member, invoice):
    make_submission(invoice, member, state=State.SENT, clearance_status=Clearance.REJECTED, terminal=True)
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.REJECTED)

    partial = page(client, member, url(invoice, "timeline"), **HTMX)

    actions = re.search(r'<div id="invoice-actions"[^>]*hx-swap-oob="true"[^>]*>(.*?)</div>', partial.text, re.S)
    assert partial.status_code == 286 and actions is not None
    assert 'data-testid="reopen-invoice"' in actions.group(1)
    assert 'data-testid="submit-invoice"' not in actions.group(1)


@pytest.mark.parametrize(
    ("state", "fields", "expected"),
    [
        (State.QUEUED, {}, 200),
        (State.SENDING, {}, 200),
        (State.RETRYING, {"reason_code": "unavailable"}, 200),
        (State.SENT, {"clearance_status": Clearance.PENDING, "reference_id": "PL-1"}, 200),
        (State.SENT, {"clearance_status": Clearance.ACCEPTED, "terminal": True}, 286),
        (State.SENT, {"clearance_status": Clearance.REJECTED, "terminal": True}, 286),
        (State.SENT, {"clearance_status": Clearance.DUPLICATE, "terminal": True}, 286),
        (State.HELD, {"reason_code": "outcome-unknown"}, 286),
        (State.REFUSED, {}, 286),
        (State.FAILED, {"reason_code": "key-refused"}, 286),
    ],
)
def test_the_timeline_answers_286_once_nothing_changes_without_a_person(
    client, member, invoice, state, fields, expected
):
    make_submission(invoice, member, state=state, **fields)

    response = page(client, member, url(invoice, "timeline"), **HTMX)

    assert response.status_code == expected
    assert ('hx-trigger="every 1s"' in response.text) is (expected == 200)


def test_undelivered_is_followed_until_its_deadline_then_waits_for_a_person(client, member, invoice):
    submission = make_submission(
        invoice,
        member,
        clearance_status=Clearance.UNDELIVERED,
        mc_deadline=timezone.now() + timedelta(days=2, hours=5, minutes=30),
        next_poll_at=timezone.now() + timedelta(hours=1),
    )
    following = page(client, member, url(invoice, "timeline"), **HTMX)

    assert following.status_code == 200
    assert re.search(r'data-testid="mc-deadline">[^<]*· 2\xa0days, 5\xa0hours left<', following.text)
    assert "Do not send the invoice again: the same number would be rejected as a duplicate." in following.text

    Submission.objects.filter(pk=submission.pk).update(
        mc_deadline=timezone.now() - timedelta(minutes=1), next_poll_at=None, reason_code="undelivered-deadline"
    )
    waiting = page(client, member, url(invoice, "timeline"), **HTMX)

    assert waiting.status_code == 286 and 'data-testid="mc-deadline"' not in waiting.text
    assert "The invoice is still legally valid (D.Lgs. 127/2015)." in waiting.text


def test_a_draft_never_submitted_has_an_empty_timeline_that_does_not_ask(client, member, invoice):
    response = page(client, member, url(invoice, "timeline"), **HTMX)

    assert response.status_code == 286 and 'data-testid="not-submitted"' in response.text


def test_the_timeline_without_htmx_is_the_invoice_page(client, member, invoice):
    response = page(client, member, url(invoice, "timeline"))

    assert response.status_code == 302 and response["Location"] == url(invoice) + "#timeline"


def test_the_timeline_lists_every_submission_newest_first_with_its_events_in_the_users_zone(client, member, invoice):
    make_submission(
        invoice,
        member,
        state=State.CANCELLED,
        clearance_status=Clearance.REJECTED,
        terminal=True,
        rejected_at=JAN_15_10H,
        error={"source": "KSeF", "code": "InvalidNip", "message": "Nieprawidłowy NIP", "detail": "NIP 123"},
        events=[
            ("PENDING", JAN_15_10H - timedelta(seconds=30), "Submitted to KSeF as FA(3)"),
            ("REJECTED", JAN_15_10H, "Rejected by KSeF: InvalidNip"),
        ],
        created_at=JAN_15_10H,
    )
    make_submission(
        invoice,
        member,
        clearance_status=Clearance.ACCEPTED,
        terminal=True,
        reference_id="PL-20260116-7",
        cleared_at=JAN_15_10H + timedelta(days=1),
        events=[
            ("PENDING", JAN_15_10H + timedelta(days=1, seconds=-20), "Submitted to KSeF as FA(3)"),
            ("ACCEPTED", JAN_15_10H + timedelta(days=1), "Accepted by KSeF", {"kSeFNumber": "5260250274-X-1"}),
        ],
    )
    Invoice.objects.filter(pk=invoice.pk).update(status=Status.ACCEPTED)

    text = page(client, member, url(invoice, "timeline"), **HTMX).text

    assert re.findall(r"Submission (\d)</span>", text) == ["2", "1"]
    second, first = text.split('data-testid="attempt"')[1:]
    assert 'data-testid="ksef-number">5260250274-X-1<' in second and "PL-20260116-7" in second
    assert re.search(r'data-testid="cleared-at">[^<]*11:00:00<', second)
    assert re.findall(r'data-status="(\w+)"', second) == ["ACCEPTED", "PENDING"]
    assert "Closed: the invoice was reopened to be fixed and sent again." in first
    assert re.search(r'data-testid="rejected-at">[^<]*11:00:00<', first)  # 10:00 UTC is 11:00 in Brussels
    assert "KSeF InvalidNip</span> · Nieprawidłowy NIP" in first
    assert "KSeF refused a Polish tax number (NIP) on the invoice: its check digits are wrong." in first


def test_the_timeline_speaks_the_readers_language(client, member, invoice):
    make_submission(
        invoice,
        member,
        clearance_status=Clearance.DUPLICATE,
        terminal=True,
        events=[("DUPLICATE", JAN_15_10H, "KSeF already has invoice number 2026-0001")],
    )

    text = page(client, member, url(invoice, "timeline"), language="nl", **HTMX).text

    assert 'data-testid="clearance-status">Dubbel<' in text
    assert "15-1-2026 11:00:00" in text
    assert "Wat te doen:" in text


def test_a_retrying_send_shows_its_attempts_and_why(client, member, invoice):
    make_submission(invoice, member, state=State.RETRYING, attempts=3, reason_code="outcome-unknown")

    text = page(client, member, url(invoice, "timeline"), **HTMX).text

    assert "Retrying</strong> · 3 attempts so far · no answer from Clearvo" in text
    assert "the same idempotency key" in text


def test_a_refusal_links_each_violation_to_its_field_in_the_editor(client, member, invoice):
    violations = [
        {"field": "lines[0].taxCode", "message": "must be a valid EN16931 tax code"},
        {"field": "buyer.taxId", "message": "invalid NIP"},
        {"field": "", "message": "Request body validation failed"},
    ]
    make_submission(invoice, member, state=State.REFUSED, violations=violations)

    text = page(client, member, url(invoice, "timeline"), **HTMX).text
    edit = url(invoice, "edit")

    assert f'href="{edit}#id_lines-0-tax_code" data-testid="violation-link">Line 1, VAT category</a>: must be' in text
    assert (
        f'href="{edit}#id_buyer_tax_id" data-testid="violation-link">Buyer VAT or tax number</a>: invalid NIP' in text
    )
    assert "Request body validation failed" in text


def test_the_editor_shows_what_clearvo_refused_beside_the_form(client, member, invoice):
    make_submission(
        invoice, member, state=State.REFUSED, violations=[{"field": "lines[0].taxCode", "message": "bad code"}]
    )

    text = page(client, member, url(invoice, "edit")).text

    assert 'data-testid="clearance-refusal"' in text and 'href="#id_lines-0-tax_code"' in text


@pytest.mark.parametrize(
    ("error", "link"),
    [
        ({"source": "SDI", "code": "00201"}, "edit/#id_it_codice_destinatario"),
        ({"source": "KSeF", "code": "InvalidNip"}, "edit/#id_buyer_tax_id"),
        ({"source": "SDI", "code": "00102"}, "invoicing/profile/#id_tax_id"),
    ],
)
def test_after_reopening_the_explanation_links_to_the_field_to_fix(client, member, invoice, error, link):
    make_submission(
        invoice, member, state=State.CANCELLED, clearance_status=Clearance.REJECTED, terminal=True, error=error
    )

    text = page(client, member, url(invoice, "timeline"), **HTMX).text

    assert re.search(rf'href="[^"]*{re.escape(link)}" data-testid="fix-link"', text)


def test_a_rejected_invoice_names_the_field_and_offers_to_fix_and_send_again(client, member, viewer, invoice):
    make_submission(
        invoice,
        member,
        clearance_status=Clearance.REJECTED,
        terminal=True,
        error={"source": "SDI", "code": "00201", "message": "Codice Destinatario non trovato"},
    )
    Invoice.objects.filter(pk=invoice.pk).update(status=Status.REJECTED)

    text = page(client, member, url(invoice)).text

    assert 'data-testid="reopen-invoice"' in text and f'action="{url(invoice, "reopen")}"' in text
    assert "Codice destinatario (choose “Fix and send again” above)" in text
    assert 'data-testid="reopen-invoice"' not in page(client, viewer, url(invoice)).text


def test_duplicate_explains_that_the_authority_already_holds_the_number(client, member, invoice):
    make_submission(invoice, member, clearance_status=Clearance.DUPLICATE, terminal=True)

    text = page(client, member, url(invoice, "timeline"), **HTMX).text

    assert "The authority already holds an invoice with this number from your company" in text


# --- a held send: a person decides ---


@pytest.fixture
def held(invoice, member):
    Invoice.objects.filter(pk=invoice.pk).update(status=Status.SUBMITTING)
    return make_submission(invoice, member, state=State.HELD, attempts=4, reason_code="outcome-unknown")


def test_a_held_send_says_why_and_offers_members_retry_and_release(client, member, viewer, invoice, held):
    text = page(client, member, url(invoice, "timeline"), **HTMX).text

    assert "Held: waiting for a person</strong> · no answer from Clearvo · 4 attempts" in text
    assert f'action="{submission_url(held, "retry")}"' in text and f'action="{submission_url(held, "release")}"' in text
    assert "Ask Clearvo whether it received this invoice number." in text
    viewers = page(client, viewer, url(invoice, "timeline"), **HTMX).text
    assert 'data-testid="retry-submission"' not in viewers and 'data-testid="release-submission"' not in viewers


def test_retry_sends_the_same_submission_again(client, member, held, outbox):
    client.force_login(member)

    response = client.post(submission_url(held, "retry"))

    assert response.status_code == 302 and outbox.retried == [(held.pk, member.pk)]
    assert "Sent again with the same idempotency key: Clearvo cannot register it twice." in messages_of(response)


def test_release_returns_the_invoice_to_draft(client, member, invoice, held, outbox):
    client.force_login(member)

    response = client.post(submission_url(held, "release"))

    assert response["Location"] == url(invoice) and outbox.released == [(held.pk, member.pk)]
    assert Invoice.objects.get(pk=invoice.pk).status == Status.DRAFT


def test_a_send_that_is_not_held_is_neither_retried_nor_released(client, member, invoice, outbox):
    sent = make_submission(invoice, member, clearance_status=Clearance.ACCEPTED, terminal=True)
    client.force_login(member)

    retry = client.post(submission_url(sent, "retry"))
    release = client.post(submission_url(sent, "release"))

    assert outbox.retried == [] and outbox.released == []
    assert "Nothing to send again: this send is sent." in messages_of(retry)
    assert "Only a held send can be released; this one is sent." in messages_of(release)


def test_held_actions_are_for_members_of_the_administration_only(
    client, viewer, member, outsider, administration, other_administration, held, outbox
):
    client.force_login(viewer)
    assert client.post(submission_url(held, "retry")).status_code == 403
    client.force_login(outsider)
    assert client.post(submission_url(held, "release")).status_code == 404
    # The submission named through another administration the member sees is not found either.
    theirs = make_submission(make_invoice(other_administration, outsider), outsider, state=State.HELD)
    client.force_login(member)
    wrong = f"/administrations/{administration.company_number}/submissions/{theirs.pk}/retry/"
    assert client.post(wrong).status_code == 404
    assert client.get(submission_url(held, "retry")).status_code == 405
    assert outbox.retried == [] and outbox.released == []


# --- fix and send again ---


def test_fix_and_send_again_makes_the_rejected_invoice_a_draft_and_keeps_its_history(client, member, invoice, outbox):
    rejected = make_submission(
        invoice,
        member,
        clearance_status=Clearance.REJECTED,
        terminal=True,
        events=[("REJECTED", JAN_15_10H, "Rejected by KSeF: InvalidNip")],
    )
    Invoice.objects.filter(pk=invoice.pk).update(status=Status.REJECTED)
    client.force_login(member)

    response = client.post(url(invoice, "reopen"))

    assert response["Location"] == url(invoice, "edit")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.version) == (Status.DRAFT, 2)
    rejected.refresh_from_db()
    assert rejected.state == State.CANCELLED and rejected.clearance_status == Clearance.REJECTED
    assert rejected.events.count() == 1
    activity = Activity.objects.get(action="invoice.reopened")
    assert activity.actor == member and activity.data["closed"] == [rejected.pk]

    # Sent again: a new submission with a new key; the first stays on the timeline.
    client.post(url(invoice, "submit"), {"version": "2"})
    first, second = Submission.objects.filter(invoice=invoice).order_by("pk")
    assert second.idempotency_key != first.idempotency_key and second.state == State.QUEUED
    text = page(client, member, url(invoice, "timeline"), **HTMX).text
    assert re.findall(r"Submission (\d)</span>", text) == ["2", "1"]


def test_only_a_rejected_invoice_can_be_reopened(client, member, viewer, invoice):
    client.force_login(member)
    response = client.post(url(invoice, "reopen"))

    assert "Only a rejected invoice can be fixed and sent again; 2026-0001 is draft." in messages_of(response)
    assert Invoice.objects.get(pk=invoice.pk).version == 1
    Invoice.objects.filter(pk=invoice.pk).update(status=Status.REJECTED)
    client.force_login(viewer)
    assert client.post(url(invoice, "reopen")).status_code == 403
    assert Invoice.objects.get(pk=invoice.pk).status == Status.REJECTED


# --- the clearance record ---


def test_the_clearance_record_downloads_every_request_answer_and_event(client, viewer, member, invoice):
    submission = make_submission(
        invoice,
        member,
        clearance_status=Clearance.ACCEPTED,
        terminal=True,
        reference_id="PL-1",
        events=[("ACCEPTED", JAN_15_10H, "Accepted by KSeF", {"kSeFNumber": "K-1"})],
    )
    make_exchange(submission, at=JAN_15_10H - timedelta(seconds=5), status_code=502, body="<html>Bad gateway</html>")
    make_exchange(submission, at=JAN_15_10H - timedelta(seconds=3), body='{"ok": true, "referenceId": "PL-1"}')

    response = page(client, viewer, url(invoice) + "clearance-record.json")

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="clearance-2026-0001.json"'
    assert set(response["Cache-Control"].split(", ")) >= {"private", "no-store"}
    record = json.loads(response.content)
    (sent,) = record["submissions"]
    assert sent["body"].encode() == bytes(submission.body)
    assert sent["idempotencyKey"] == str(submission.idempotency_key)
    assert sent["bodySha256"] == submission.body_sha256
    assert [(e["statusCode"], e["responseBody"]) for e in sent["exchanges"]] == [
        (502, "<html>Bad gateway</html>"),
        (200, '{"ok": true, "referenceId": "PL-1"}'),
    ]
    assert sent["exchanges"][0]["startedAt"] == "2026-01-15T09:59:55Z"
    assert sent["events"][0] | {"receivedAt": None} == {
        "status": "ACCEPTED",
        "at": "2026-01-15T10:00:00Z",
        "message": "Accepted by KSeF",
        "extra": {"kSeFNumber": "K-1"},
        "receivedAt": None,
    }
    assert 'data-testid="clearance-record"' in page(client, viewer, url(invoice)).text


def test_the_clearance_record_of_another_tenant_is_404(client, outsider, invoice):
    assert page(client, outsider, url(invoice) + "clearance-record.json").status_code == 404
