"""What a new user met in the invoice lists: the delete confirmation as a page, tax id search, row actions, dates."""

import re
from datetime import date

import pytest
from django.conf import settings

from invoicing.models import Invoice
from tests.factories import make_invoice

Status, Type = Invoice.Status, Invoice.DocumentType
HTMX = {"HX-Request": "true"}


def tab_url(administration) -> str:
    return f"/administrations/{administration.company_number}/invoices/"


def delete_url(invoice) -> str:
    return f"{tab_url(invoice.administration)}{invoice.pk}/delete/"


def signed_in(client, user, language="en"):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def numbers(page: str) -> list[str]:
    return re.findall(r'data-testid="invoice-row".*?/invoices/\d+/">([^<]+)</a>', page, flags=re.S)


# --- deleting a draft: the confirmation is a page at the action's address ---


def test_the_delete_confirmation_is_a_get_page_that_deletes_nothing(client, member, administration):
    draft = make_invoice(administration, member, invoice_number="D-1")

    asked = signed_in(client, member, "nl").get(delete_url(draft))

    assert asked.status_code == 200
    assert "Ontwerp D-1 verwijderen?" in asked.text  # the language menu comes back here with a GET
    assert re.search(rf'<form method="post" action="{delete_url(draft)}"', asked.text)
    assert 'name="confirm" value="yes"' in asked.text
    assert Invoice.objects.filter(pk=draft.pk).exists()


def test_posting_the_confirmation_deletes_the_draft(client, member, administration):
    draft = make_invoice(administration, member, invoice_number="D-1")

    response = signed_in(client, member).post(delete_url(draft), {"confirm": "yes"})

    assert response.status_code == 302 and not Invoice.objects.exists()


def test_a_viewer_gets_no_confirmation_page_and_a_sent_invoice_none_either(client, member, viewer, administration):
    sent = make_invoice(administration, member, invoice_number="S-1", status=Status.ACCEPTED)

    assert signed_in(client, viewer).get(delete_url(sent)).status_code == 403
    refused = signed_in(client, member).get(delete_url(sent))

    assert refused.status_code == 302 and refused["Location"] == tab_url(administration)
    assert "no longer a draft" in client.get(refused["Location"]).text
    assert Invoice.objects.filter(pk=sent.pk).exists()


# --- search by tax id as it is shown ---


@pytest.mark.parametrize("query", ["IT00743110157", "it 007 431 101 57", "00743110157", "743.110"])
def test_a_tax_id_is_found_with_or_without_its_country_prefix_spaces_and_dots(client, member, administration, query):
    make_invoice(administration, member, invoice_number="IT-1", buyer_tax_id="00743110157")
    make_invoice(administration, member, invoice_number="IT-2", buyer_tax_id="01234567897")

    for url in (tab_url(administration), "/invoices/"):
        page = signed_in(client, member).get(url, {"q": query}).text
        assert numbers(page) == ["IT-1"], (url, query)


def test_a_search_that_is_no_tax_id_still_looks_in_numbers_and_names(client, member, administration):
    make_invoice(administration, member, invoice_number="IT-2026-7", buyer_name="Rossi Forniture")

    assert numbers(signed_in(client, member).get("/invoices/", {"q": "IT-2026"}).text) == ["IT-2026-7"]
    assert numbers(client.get("/invoices/", {"q": "rossi f"}).text) == ["IT-2026-7"]


# --- row actions ---


def actions_of(page: str, number: str) -> list[str]:
    """The slots of a row's actions, in order: the action's name, or "-" where it does not apply."""
    start = page.index(f">{number}</a>")
    row = page[start : page.index("</tr>", start)]
    cell = row[row.index('<div class="d-flex flex-column flex-md-row gap-1">') :]
    slots = re.findall(r'data-testid="invoice-([\w-]+)"|class="btn [^"]*invisible"', cell)
    return [slot or "-" for slot in slots]


def test_every_row_has_its_actions_in_the_same_slots_with_short_labels_on_wider_screens(client, member, administration):
    original = make_invoice(administration, member, invoice_number="DRAFT-1")
    make_invoice(administration, member, invoice_number="SENT-1", status=Status.ACCEPTED)
    make_invoice(
        administration, member, invoice_number="NOTE-1", document_type=Type.CREDIT_NOTE, original_invoice=original
    )
    make_invoice(
        administration,
        member,
        invoice_number="NOTE-2",
        document_type=Type.CREDIT_NOTE,
        original_invoice=original,
        status=Status.ACCEPTED,
    )

    for url in (tab_url(administration), "/invoices/"):
        page = signed_in(client, member).get(url).text
        assert actions_of(page, "DRAFT-1") == ["duplicate", "credit-note", "delete"]
        assert actions_of(page, "SENT-1") == ["duplicate", "credit-note", "-"]
        assert actions_of(page, "NOTE-1") == ["duplicate", "-", "delete"]
        assert actions_of(page, "NOTE-2") == ["duplicate", "-", "-"]
        row = page[page.index(">DRAFT-1</a>") : page.index("</tr>", page.index(">DRAFT-1</a>"))]
        for label in ("Duplicate", "Credit note", "Delete"):
            assert f'<span class="d-none d-lg-inline" aria-hidden="true"> {label}</span>' in row
        assert '<span class="visually-hidden">Delete DRAFT-1</span>' in row


# --- the date filters ---


def test_a_start_date_after_the_end_date_says_why_nothing_matches(client, member, administration):
    make_invoice(administration, member, invoice_number="N-1", issue_date=date(2026, 11, 2))
    dates = {"issued_from": "2026-12-01", "issued_to": "2026-11-01"}

    page = signed_in(client, member, "nl").get("/invoices/", dates).text
    results = client.get("/invoices/", dates, headers=HTMX | {"HX-Target": "invoice-results"}).text

    problem = "“Uitgereikt vanaf” ligt na “Uitgereikt tot en met”: geen enkele factuur kan overeenkomen."
    assert numbers(page) == [] and problem in page
    assert problem in results and "<html" not in results  # shown where the filters' answer goes
    swapped = client.get("/invoices/", {"issued_from": "2026-11-01", "issued_to": "2026-12-01"}).text
    assert numbers(swapped) == ["N-1"] and "filter-problem" not in swapped
