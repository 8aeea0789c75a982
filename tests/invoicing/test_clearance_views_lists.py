"""Clearance on the lists: each row's live status (retrying included), several drafts submitted at once,
and the TEST or LIVE badge on every invoice page."""

import re

import pytest
from django.conf import settings

from accounts.models import Membership
from invoicing.models import ClearvoAccount, Invoice, Submission
from invoicing.selectors import unsent_submissions
from tests.factories import make_invoice
from tests.invoicing.clearance_helpers import Clearance, State, fake_outbox, make_submission

Status = Invoice.Status
HTMX = {"HX-Request": "true"}
BULK = "/invoices/submit/"


@pytest.fixture
def outbox(monkeypatch):
    return fake_outbox(monkeypatch)


def tab_url(administration) -> str:
    return f"/administrations/{administration.company_number}/invoices/"


def status_url(invoice) -> str:
    return f"/administrations/{invoice.administration.company_number}/invoices/{invoice.pk}/status/"


def page(client, user, address, **headers):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(address, headers=headers)
    assert response.status_code in (200, 286), (address, response.status_code)
    return response.text


def row_of(text: str, number: str) -> str:
    start = text.index(f">{number}</a>")
    return text[text.rindex("<tr", 0, start) : text.index("</tr>", start)]


def badge_of(text: str) -> str:
    return re.search(r'<span id="invoice-status-\d+"[^>]*>[^<]*</span>', text)[0]


# --- each row's live status ---


@pytest.mark.parametrize(
    ("state", "label", "live"),
    [
        (State.QUEUED, "Queued", True),
        (State.SENDING, "Sending", True),
        (State.RETRYING, "Retrying (attempt 3)", True),
        (State.HELD, "Held: check with Clearvo", False),
    ],
)
def test_a_row_being_sent_shows_its_submissions_state(client, member, administration, state, label, live):
    invoice = make_invoice(administration, member, invoice_number="R-1", status=Status.SUBMITTING)
    make_submission(invoice, member, state=state, attempts=2)

    for address in ("/invoices/", tab_url(administration)):
        badge = badge_of(row_of(page(client, member, address), "R-1"))

        assert f'data-testid="invoice-status">{label}</span>' in badge
        assert (f'hx-get="{status_url(invoice)}?phone=1" hx-trigger="every 2s"' in badge) is live


def test_a_row_follows_its_invoice_until_the_authority_decides(client, member, administration):
    invoice = make_invoice(administration, member, invoice_number="R-2", status=Status.SUBMITTING)
    submission = make_submission(invoice, member, state=State.RETRYING, attempts=1)

    client.force_login(member)
    retrying = client.get(status_url(invoice), headers=HTMX)
    assert retrying.status_code == 200 and "Retrying (attempt 2)" in retrying.text

    Submission.objects.filter(pk=submission.pk).update(state=State.SENT, clearance_status=Clearance.PENDING)
    Invoice.objects.filter(pk=invoice.pk).update(status=Status.PENDING)
    pending = client.get(status_url(invoice), headers=HTMX)
    assert pending.status_code == 200 and 'data-testid="invoice-status">Pending</span>' in pending.text
    assert 'hx-trigger="every 10s"' in pending.text  # the authority takes longer than a send

    Invoice.objects.filter(pk=invoice.pk).update(status=Status.ACCEPTED)
    accepted = client.get(status_url(invoice), headers=HTMX)
    assert accepted.status_code == 286 and 'data-testid="invoice-status">Accepted</span>' in accepted.text
    assert "hx-trigger" not in accepted.text


def test_a_rows_answers_also_redraw_the_badge_a_phone_reads(client, member, administration):
    """On a phone the status column is hidden and the badge under the number is read: the row's
    polling badge brings that copy along (out of band); elsewhere the answer is the badge alone."""
    invoice = make_invoice(administration, member, invoice_number="R-3", status=Status.PENDING)
    client.force_login(member)
    row = row_of(page(client, member, tab_url(administration)), "R-3")
    assert f'hx-get="{status_url(invoice)}?phone=1"' in row
    assert f'<span id="invoice-status-phone-{invoice.pk}" class="badge invoice-status invoice-status-pending">' in row

    Invoice.objects.filter(pk=invoice.pk).update(status=Status.ACCEPTED)
    answer = client.get(f"{status_url(invoice)}?phone=1", headers=HTMX)
    assert answer.status_code == 286
    assert (
        f'id="invoice-status-phone-{invoice.pk}" class="badge invoice-status invoice-status-accepted" hx-swap-oob="true">Accepted</span>'
        in answer.text
    )
    assert "invoice-status-phone" not in client.get(status_url(invoice), headers=HTMX).text


def test_settled_rows_do_not_ask_and_a_page_without_sends_reads_no_submission(
    client, member, administration, django_assert_num_queries
):
    make_invoice(administration, member, invoice_number="D-1")
    make_invoice(administration, member, invoice_number="A-1", status=Status.ACCEPTED)
    text = page(client, member, "/invoices/")

    assert "every 2s" not in text
    settled = list(Invoice.objects.all())
    with django_assert_num_queries(0):
        assert unsent_submissions(settled) == {}


def test_the_status_of_another_tenants_invoice_is_404(client, outsider, member, administration):
    invoice = make_invoice(administration, member, status=Status.SUBMITTING)
    client.force_login(outsider)

    assert client.get(status_url(invoice), headers=HTMX).status_code == 404


# --- several drafts at once ---


@pytest.fixture
def drafts(administration, member):
    return [make_invoice(administration, member, invoice_number=f"B-{n}") for n in range(1, 5)]


def test_members_tick_drafts_only_and_the_form_lives_outside_the_rows(client, member, viewer, administration, drafts):
    Invoice.objects.filter(pk=drafts[3].pk).update(status=Status.ACCEPTED)
    for address in ("/invoices/", tab_url(administration)):
        text = page(client, member, address)

        assert (
            f'<form id="bulk-submit" class="d-flex flex-wrap align-items-center gap-2 mb-2" method="post" action="{BULK}"'
            in text
        )
        assert f'form="bulk-submit" name="invoice" value="{drafts[0].pk}:1"' in row_of(text, "B-1")
        assert 'data-testid="choose-invoice"' not in row_of(text, "B-4")
        assert 'data-testid="choose-invoice"' not in page(client, viewer, address)
        assert 'id="bulk-submit"' not in page(client, viewer, address)


def test_submitting_several_drafts_says_per_invoice_what_happened(client, member, drafts, outbox):
    outbox.refuse["B-2"] = "The buyer's tax number is missing."
    client.force_login(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.post(BULK, {"invoice": [f"{d.pk}:1" for d in drafts[:3]], "next": "/invoices/?status=draft"})

    assert response.status_code == 200
    assert 'data-testid="bulk-summary">2 sent, 1 refused' in response.text
    assert [pk for pk, _version, _user in outbox.submitted] == [drafts[0].pk, drafts[2].pk]
    refused = row_of(response.text, "B-2")
    assert 'data-sent="false"' in refused and "Refused: The buyer&#x27;s tax number is missing." in refused
    sent = row_of(response.text, "B-1")
    assert 'data-sent="true"' in sent and "Sent to Clearvo" in sent
    assert f'hx-get="{status_url(drafts[0])}" hx-trigger="every 2s"' in sent  # its live status: queued
    assert 'data-testid="invoice-status">Queued</span>' in sent
    assert 'href="/invoices/?status=draft" data-testid="back-to-list"' in response.text


def test_a_draft_changed_since_the_list_was_shown_is_refused(client, member, drafts, outbox):
    Invoice.objects.filter(pk=drafts[0].pk).update(version=2)
    client.force_login(member)

    response = client.post(BULK, {"invoice": [f"{drafts[0].pk}:1"]})

    assert "B-1 changed since the page was opened" in response.text and outbox.submitted == []
    assert 'data-testid="bulk-summary">0 sent, 1 refused' in response.text


def test_another_tenants_invoice_in_the_form_is_refused_never_submitted(
    client, member, outsider, other_administration, drafts, outbox
):
    theirs = make_invoice(other_administration, outsider, invoice_number="THEIRS-1")
    client.force_login(member)

    response = client.post(BULK, {"invoice": [f"{theirs.pk}:1", f"{drafts[0].pk}:1"]})

    assert [pk for pk, _version, _user in outbox.submitted] == [drafts[0].pk]
    assert "Not among the invoices you can see." in response.text and "THEIRS-1" not in response.text
    assert Invoice.objects.get(pk=theirs.pk).status == Status.DRAFT and not theirs.submissions.exists()


def test_nothing_chosen_goes_back_to_the_list_saying_so(client, member, outbox):
    client.force_login(member)

    response = client.post(BULK, {"invoice": ["nonsense"], "next": "https://elsewhere.example/"}, follow=True)

    assert response.redirect_chain[-1][0] == "/invoices/"  # never to another site
    assert "Choose the drafts to submit." in response.text and outbox.submitted == []


def test_viewers_may_not_submit_several_and_get_is_405(client, viewer, drafts, outbox):
    client.force_login(viewer)

    response = client.post(BULK, {"invoice": [f"{drafts[0].pk}:1"]})  # checked row by row: each refused
    assert response.status_code == 200 and "does not let you submit its invoices" in response.text
    assert client.get(BULK).status_code == 405
    assert outbox.submitted == []


# --- the TEST or LIVE badge ---


def mode_badges(text: str) -> list[str]:
    return re.findall(r'data-testid="clearvo-mode" data-mode="(\w*)"', text)


def invoice_pages(invoice) -> list[str]:
    base = f"/administrations/{invoice.administration.company_number}/invoices/"
    return [f"{base}{invoice.pk}/", f"{base}{invoice.pk}/edit/", base, "/invoices/"]


def test_every_invoice_page_says_which_key_submitting_would_use(client, member, office, administration):
    invoice = make_invoice(administration, member)
    assert settings.CLEARVO_API_KEY.startswith("ck_test_")  # the platform's default: the sandbox's test key

    for address in invoice_pages(invoice):
        assert mode_badges(page(client, member, address))[:1] == ["test"], address

    ClearvoAccount.objects.create(office=office, api_key="ck_live_abcdefghijkl1234")
    for address in invoice_pages(invoice):
        text = page(client, member, address)
        assert mode_badges(text)[:1] == ["live"] and ">LIVE</span>" in text, address


def test_without_any_key_the_badge_says_so(client, member, administration, settings):
    settings.CLEARVO_API_KEY = ""
    invoice = make_invoice(administration, member)

    text = page(client, member, f"/administrations/{administration.company_number}/invoices/{invoice.pk}/")

    assert mode_badges(text) == [""] and "No Clearvo key" in text


def test_a_submitted_invoice_shows_the_mode_its_submission_used(client, member, office, administration):
    invoice = make_invoice(administration, member, status=Status.ACCEPTED)
    make_submission(invoice, member, api_mode="test", clearance_status=Clearance.ACCEPTED, terminal=True)
    ClearvoAccount.objects.create(office=office, api_key="ck_live_abcdefghijkl1234")

    text = page(client, member, f"/administrations/{administration.company_number}/invoices/{invoice.pk}/")

    assert mode_badges(text) == ["test", "test"]  # the header and the submission: not today's live key
    assert "Sent with a test Clearvo key: nothing reached a tax authority." in text


def test_the_badge_of_another_office_does_not_leak(client, outsider, other_office, member, administration):
    ClearvoAccount.objects.create(office=other_office, api_key="ck_live_otherofficekey99")
    invoice = make_invoice(administration, member)

    assert (
        mode_badges(page(client, member, f"/administrations/{administration.company_number}/invoices/{invoice.pk}/"))[0]
        == "test"
    )
    assert Membership.objects.get(user=outsider).office == other_office
