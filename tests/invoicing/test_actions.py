"""The lists' row actions: duplicate an invoice, make a credit note from it, delete a draft."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from clearfacts_app.models import Activity
from invoicing.models import Invoice, InvoicingProfile
from tests.factories import make_invoice

Status, Type = Invoice.Status, Invoice.DocumentType
LINES = [(Decimal("3"), Decimal("120.50"), "S"), (Decimal("0.5"), Decimal("80"), "AA")]


@pytest.fixture
def profile(administration):
    return InvoicingProfile.objects.create(
        administration=administration,
        legal_name="Bakkerij Janssens BV",
        tax_id="0403170701",
        street="Kerkstraat 1",
        city="Gent",
        postal_code="9000",
        iban="BE71096123456769",
        bic="GKCCBEBB",
        payment_terms_days=14,
        number_pattern="{YYYY}-{NNNN}",
    )


@pytest.fixture
def invoice(administration, owner):
    return make_invoice(
        administration,
        owner,
        invoice_number="2025-0042",
        issue_date=date(2025, 6, 1),
        tax_point_date=date(2025, 5, 31),
        due_date=date(2025, 7, 1),
        status=Status.ACCEPTED,
        payment_reference="+++090/9337/55493+++",
        it_codice_destinatario="ABC1234",
        supplier_name="Bakkerij Janssens (old name)",
        lines=LINES,
    )


def url(invoice, action) -> str:
    return f"/administrations/{invoice.administration.company_number}/invoices/{invoice.pk}/{action}/"


def tab(administration) -> str:
    return f"/administrations/{administration.company_number}/invoices/"


def post(client, user, address, data=None):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.post(address, data or {})


def lines_of(invoice) -> list[tuple]:
    return list(invoice.lines.values_list("position", "description", "quantity", "unit", "unit_price", "tax_code"))


def messages_after(client, response) -> str:
    return client.get(response["Location"]).text


# --- duplicate ---


def test_duplicate_makes_a_draft_with_the_lines_a_new_number_and_todays_dates(
    client, member, administration, profile, invoice
):
    response = post(client, member, url(invoice, "duplicate"))

    copy = Invoice.objects.exclude(pk=invoice.pk).get()
    today = timezone.localdate()
    assert response.status_code == 302
    assert response["Location"] == f"/administrations/{administration.company_number}/invoices/{copy.pk}/edit/"
    assert copy.invoice_number == f"{today.year}-0001" != invoice.invoice_number
    assert (copy.status, copy.document_type, copy.author, copy.version) == (Status.DRAFT, Type.INVOICE, member, 1)
    assert (copy.issue_date, copy.tax_point_date, copy.due_date) == (today, today, today + timedelta(days=14))
    assert lines_of(copy) == lines_of(invoice) and len(lines_of(copy)) == 2
    assert (copy.buyer_name, copy.buyer_tax_id, copy.it_codice_destinatario) == (
        invoice.buyer_name,
        invoice.buyer_tax_id,
        "ABC1234",
    )
    assert copy.supplier_name == "Bakkerij Janssens BV" and copy.payment_reference == ""
    assert lines_of(Invoice.objects.get(pk=invoice.pk)) == lines_of(invoice)  # the original is untouched
    activity = Activity.objects.get(action="invoice.duplicated")
    assert (activity.actor, activity.data) == (
        member,
        {"invoice": copy.pk, "number": copy.invoice_number, "from": invoice.pk},
    )


def test_two_duplicates_get_two_numbers(client, member, administration, profile, invoice):
    post(client, member, url(invoice, "duplicate"))
    post(client, member, url(invoice, "duplicate"))

    year = timezone.localdate().year
    assert sorted(Invoice.objects.exclude(pk=invoice.pk).values_list("invoice_number", flat=True)) == [
        f"{year}-0001",
        f"{year}-0002",
    ]


def test_without_an_invoicing_profile_nothing_is_copied_and_the_tab_says_why(client, member, administration, invoice):
    response = post(client, member, url(invoice, "duplicate"))

    assert response.status_code == 302 and response["Location"] == tab(administration)
    assert Invoice.objects.count() == 1
    assert "Complete the invoicing profile first" in messages_after(client, response)


# --- credit note ---


def test_a_credit_note_refers_to_its_invoice_and_copies_its_lines(client, member, administration, profile, invoice):
    response = post(client, member, url(invoice, "credit-note"))

    note = Invoice.objects.get(original_invoice=invoice)
    assert response["Location"] == f"/administrations/{administration.company_number}/invoices/{note.pk}/edit/"
    assert (note.document_type, note.status, note.author) == (Type.CREDIT_NOTE, Status.DRAFT, member)
    assert note.invoice_number == f"{timezone.localdate().year}-0001" and note.issue_date == timezone.localdate()
    assert lines_of(note) == lines_of(invoice)
    assert Activity.objects.filter(action="invoice.credit_note_created", data__original=invoice.pk).exists()


def test_a_credit_note_can_be_made_from_a_draft_invoice(client, member, administration, profile):
    draft = make_invoice(administration, member)

    post(client, member, url(draft, "credit-note"))

    assert Invoice.objects.filter(original_invoice=draft, document_type=Type.CREDIT_NOTE).count() == 1


@pytest.mark.parametrize("kind", [Type.CREDIT_NOTE, Type.DEBIT_NOTE])
def test_no_credit_note_is_made_from_a_note(client, member, administration, profile, invoice, kind):
    note = make_invoice(administration, member, document_type=kind, original_invoice=invoice)

    response = post(client, member, url(note, "credit-note"))

    assert response.status_code == 302 and response["Location"] == tab(administration)
    assert Invoice.objects.count() == 2
    assert "A credit note corrects an invoice; this is a note itself." in messages_after(client, response)


# --- delete ---


def test_delete_asks_first_then_deletes_the_draft_and_its_lines(client, member, administration):
    draft = make_invoice(administration, member, invoice_number="D-1", lines=LINES)

    asked = post(client, member, url(draft, "delete"))

    assert asked.status_code == 200 and Invoice.objects.filter(pk=draft.pk).exists()
    assert "Delete draft D-1?" in asked.text
    assert 'name="confirm" value="yes"' in asked.text and f'action="{url(draft, "delete")}"' in asked.text
    assert f'href="{tab(administration)}"' in asked.text  # keep it

    done = post(client, member, url(draft, "delete"), {"confirm": "yes"})

    assert done.status_code == 302 and done["Location"] == tab(administration)
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    assert "Draft D-1 was deleted." in messages_after(client, done)
    assert Activity.objects.get(action="invoice.deleted").data == {"invoice": draft.pk, "number": "D-1"}


@pytest.mark.parametrize("status", [s for s in Status.values if s != Status.DRAFT])
def test_only_a_draft_can_be_deleted(client, member, administration, status):
    sent = make_invoice(administration, member, invoice_number="S-1", status=status)

    for data in ({}, {"confirm": "yes"}):
        response = post(client, member, url(sent, "delete"), data)

        assert response.status_code == 302 and response["Location"] == tab(administration)
        assert "Invoice S-1 is no longer a draft: it cannot be deleted." in messages_after(client, response)
    assert Invoice.objects.filter(pk=sent.pk).exists() and not Activity.objects.exists()


def test_the_original_of_a_note_cannot_be_deleted(client, member, administration):
    original = make_invoice(administration, member, invoice_number="O-1")
    make_invoice(administration, member, document_type=Type.CREDIT_NOTE, original_invoice=original)

    for data in ({}, {"confirm": "yes"}):
        response = post(client, member, url(original, "delete"), data)

        assert response.status_code == 302
        assert "a credit or debit note refers to it" in messages_after(client, response)
    assert Invoice.objects.filter(pk=original.pk).exists()


def test_a_draft_note_can_be_deleted_and_then_its_original(client, member, administration):
    original = make_invoice(administration, member)
    note = make_invoice(administration, member, document_type=Type.CREDIT_NOTE, original_invoice=original)

    post(client, member, url(note, "delete"), {"confirm": "yes"})
    post(client, member, url(original, "delete"), {"confirm": "yes"})

    assert not Invoice.objects.exists()


# --- who may ---

ACTIONS = ["duplicate", "credit-note", "delete"]


@pytest.mark.parametrize("action", ACTIONS)
def test_viewers_may_not_act(client, viewer, administration, profile, invoice, action):
    response = post(client, viewer, url(invoice, action), {"confirm": "yes"})

    assert response.status_code == 403 and Invoice.objects.count() == 1


@pytest.mark.parametrize("action", ACTIONS)
def test_another_administrations_invoice_is_not_found_through_mine(
    client, member, administration, profile, outsider, other_administration, action
):
    theirs = make_invoice(other_administration, outsider, invoice_number="THEIRS")

    mine_with_their_pk = f"/administrations/{administration.company_number}/invoices/{theirs.pk}/{action}/"
    response = post(client, member, mine_with_their_pk, {"confirm": "yes"})

    assert response.status_code == 404
    assert list(Invoice.objects.all()) == [theirs]
    assert post(client, member, url(theirs, action), {"confirm": "yes"}).status_code == 404


@pytest.mark.parametrize("action", ["duplicate", "credit-note"])
def test_the_actions_take_post_only(client, member, invoice, action):
    client.force_login(member)

    assert client.get(url(invoice, action)).status_code == 405
