"""The buyers' address book: its pages (members write, viewers read), search and paging, and the
contract the invoice editor uses (buyer_fields, buyer_remember)."""

import datetime
import re

import pytest
from django.db import transaction

from clearfacts_app.models import Activity
from invoicing.buyers import buyer_fields, buyer_remember, buyer_suggestions
from invoicing.models import Buyer, Invoice
from tests.factories import make_administration

PARTITA_IVA = "00743110157"  # a valid Italian VAT number (the spec's own examples fail the check digit)


def base(administration) -> str:
    return f"/administrations/{administration.company_number}/invoicing/buyers/"


def buyer_post(**changes) -> dict:
    return {
        "name": "Acme SRL",
        "tax_id": f"IT {PARTITA_IVA}",
        "tax_id_country": "",
        "street": "Via Roma 1",
        "postal_code": "20121",
        "city": "Milano",
        "country": "IT",
        "codice_fiscale": "",
        "codice_destinatario": "abc1234",
        "pec_destinatario": "",
        "leitweg_id": "",
    } | changes


def make_buyer(administration, name="Acme SRL", **fields) -> Buyer:
    values = {"tax_id": PARTITA_IVA, "tax_id_country": "IT", "city": "Milano", "country": "IT"}
    return Buyer.objects.create(administration=administration, name=name, **(values | fields))


def make_invoice(administration, author, number="2026-0001", **fields) -> Invoice:
    values = {
        "issue_date": datetime.date(2026, 3, 2),
        "country": "IT",
        "buyer_name": "Acme SRL",
        "buyer_tax_id": PARTITA_IVA,
        "buyer_tax_id_country": "IT",
        "buyer_street": "Via Roma 1",
        "buyer_city": "Milano",
        "buyer_postal_code": "20121",
        "buyer_country": "IT",
    }
    return Invoice.objects.create(
        administration=administration, author=author, invoice_number=number, **(values | fields)
    )


def field_errors(response, field) -> list[str]:
    return re.findall(rf'data-field-error="{field}">([^<]+)<', response.text)


def listed_names(response) -> list[str]:
    table = response.text.split('data-testid="buyers"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'/invoicing/buyers/\d+/">([^<]+)</a>', table)


# --- adding, changing, deleting ---


def test_a_member_adds_a_buyer_cleaned_with_an_activity_row(client, member, administration):
    client.force_login(member)

    response = client.post(f"{base(administration)}new/", buyer_post())

    assert response.status_code == 302 and response["Location"] == base(administration)
    buyer = administration.buyers.get()
    assert (buyer.tax_id, buyer.tax_id_country) == (PARTITA_IVA, "IT"), "the prefix chose the country"
    assert buyer.codice_destinatario == "ABC1234"
    activity = Activity.objects.get(administration=administration)
    assert (activity.action, activity.actor, activity.data["buyer"]) == ("buyer.created", member, buyer.pk)
    assert "Acme SRL" in listed_names(client.get(base(administration)))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"tax_id": "IT01234567890"}, "tax_id", "not a valid Partita IVA"),
        ({"tax_id": "8567346216", "tax_id_country": "PL"}, "tax_id", "not a valid NIP"),
        ({"tax_id": "12345678901"}, "tax_id_country", "Choose the country"),
        ({"city": ""}, "city", "This field is required"),
        ({"country": ""}, "country", "This field is required"),
        ({"codice_destinatario": "ABC123"}, "codice_destinatario", "exactly 7 letters and digits"),
        ({"codice_fiscale": "RCCMNL83S18D969X"}, "codice_fiscale", "not a valid codice fiscale"),
        ({"leitweg_id": "1-03730-19"}, "leitweg_id", "not a valid Leitweg-ID"),
        ({"pec_destinatario": "not an address"}, "pec_destinatario", "valid email"),
    ],
)
def test_a_wrong_value_is_refused_beside_its_field(client, member, administration, changes, field, message):
    client.force_login(member)

    response = client.post(f"{base(administration)}new/", buyer_post(**changes))

    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field)), field_errors(response, field)
    assert not administration.buyers.exists() and not Activity.objects.exists()


@pytest.mark.parametrize(
    ("tax_id", "country", "stored"),
    [
        ("PL 856-734-62-15", "PL", "8567346215"),
        ("DE136695976", "", "136695976"),
        ("FR 40 303 265 045", "FR", "40303265045"),
    ],
)
def test_tax_ids_are_kept_compact_without_their_prefix(client, member, administration, tax_id, country, stored):
    client.force_login(member)

    client.post(f"{base(administration)}new/", buyer_post(tax_id=tax_id, tax_id_country=country))

    buyer = administration.buyers.get()
    assert buyer.tax_id == stored and buyer.tax_id_country == tax_id[:2]


def test_a_member_changes_an_entry_and_the_activity_names_the_fields(client, member, administration):
    buyer = make_buyer(administration)
    client.force_login(member)

    response = client.post(f"{base(administration)}{buyer.pk}/", buyer_post(city="Torino", postal_code="10121"))

    assert response.status_code == 302
    buyer.refresh_from_db()
    assert buyer.city == "Torino" and administration.buyers.count() == 1
    activity = Activity.objects.get()
    assert activity.action == "buyer.changed"
    assert activity.data["fields"] == ["street", "city", "postal_code", "codice_destinatario"]


def test_deleting_asks_first_then_leaves_the_invoices_that_used_the_entry_unchanged(client, member, administration):
    buyer = make_buyer(administration)
    invoice = make_invoice(administration, member, buyer=buyer)
    client.force_login(member)
    url = f"{base(administration)}{buyer.pk}/delete/"

    asked = client.post(url)
    assert asked.status_code == 200 and 'data-testid="buyer-confirm-delete"' in asked.text
    assert "keep their own copy" in asked.text and administration.buyers.exists()

    deleted = client.post(url, {"confirm": "yes"})

    assert deleted.status_code == 302 and not administration.buyers.exists()
    invoice.refresh_from_db()
    assert invoice.buyer is None
    assert (invoice.buyer_name, invoice.buyer_tax_id, invoice.buyer_city) == ("Acme SRL", PARTITA_IVA, "Milano")
    activity = Activity.objects.get()
    assert (activity.action, activity.data["name"], activity.data["invoices"]) == ("buyer.deleted", "Acme SRL", 1)


def test_the_confirmation_is_a_page_of_its_own_a_get_deletes_nothing(client, member, viewer, administration):
    """As Django's DeleteView: the page can be reloaded, or shown in another language, at its address."""
    buyer = make_buyer(administration)
    client.force_login(member)

    asked = client.get(f"{base(administration)}{buyer.pk}/delete/", headers={"Accept-Language": "nl"})

    assert asked.status_code == 200 and 'data-testid="buyer-confirm-delete"' in asked.text
    assert 'name="confirm" value="yes"' in asked.text and administration.buyers.exists()
    client.force_login(viewer)
    assert client.get(f"{base(administration)}{buyer.pk}/delete/").status_code == 403


# --- who may do what ---


def test_viewers_read_the_address_book_and_an_entry_but_change_nothing(client, viewer, administration):
    buyer = make_buyer(administration, codice_destinatario="ABC1234")
    client.force_login(viewer)

    listing = client.get(base(administration))
    entry = client.get(f"{base(administration)}{buyer.pk}/")

    assert listing.status_code == 200 and listed_names(listing) == ["Acme SRL"]
    assert 'data-testid="buyer-add"' not in listing.text
    assert entry.status_code == 200 and 'data-testid="buyer-form"' not in entry.text
    details = entry.text.split('data-testid="buyer-details"', 1)[1].split("</dl>", 1)[0]
    assert f"IT {PARTITA_IVA}" in details and "ABC1234" in details and "Italy" in details
    assert 'data-testid="buyer-delete"' not in entry.text
    assert client.get(f"{base(administration)}new/").status_code == 403
    assert client.post(f"{base(administration)}new/", buyer_post()).status_code == 403
    assert client.post(f"{base(administration)}{buyer.pk}/", buyer_post(city="Roma")).status_code == 403
    assert client.post(f"{base(administration)}{buyer.pk}/delete/", {"confirm": "yes"}).status_code == 403
    buyer.refresh_from_db()
    assert buyer.city == "Milano" and not Activity.objects.exists()


def test_members_see_the_form_and_the_add_button(client, member, administration):
    buyer = make_buyer(administration)
    client.force_login(member)

    assert 'data-testid="buyer-add"' in client.get(base(administration)).text
    entry = client.get(f"{base(administration)}{buyer.pk}/")
    assert 'data-testid="buyer-form"' in entry.text and 'data-testid="buyer-delete"' in entry.text


def test_an_outsider_gets_404_everywhere(client, outsider, administration):
    buyer = make_buyer(administration)
    client.force_login(outsider)

    assert client.get(base(administration)).status_code == 404
    assert client.get(f"{base(administration)}{buyer.pk}/").status_code == 404
    assert client.post(f"{base(administration)}{buyer.pk}/delete/", {"confirm": "yes"}).status_code == 404
    assert Buyer.objects.filter(pk=buyer.pk).exists()


def test_another_administrations_entry_is_404_through_this_one(client, member, administration, office):
    elsewhere = make_administration(office, "Slagerij Janssens VOF")  # same office, no grant to it
    theirs = make_buyer(elsewhere)
    client.force_login(member)

    assert client.get(f"{base(administration)}{theirs.pk}/").status_code == 404
    assert client.post(f"{base(administration)}{theirs.pk}/delete/", {"confirm": "yes"}).status_code == 404
    assert Buyer.objects.filter(pk=theirs.pk).exists()


# --- search and pages ---


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("acme", ["Acme SRL"]),
        ("IT 0074 311", ["Acme SRL"]),
        ("00743110157", ["Acme SRL"]),
        ("136695976", ["Müller GmbH"]),
        ("de136695976", ["Müller GmbH"]),
        ("berlin", ["Müller GmbH"]),
        ("MILANO", ["Acme SRL"]),
    ],
)
def test_the_list_searches_by_name_tax_id_or_city(client, viewer, administration, query, expected):
    make_buyer(administration)
    make_buyer(administration, "Müller GmbH", tax_id="136695976", tax_id_country="DE", city="Berlin", country="DE")
    client.force_login(viewer)

    page = client.get(base(administration), {"q": query})

    assert listed_names(page) == expected


def test_a_search_without_matches_says_so(client, viewer, administration):
    make_buyer(administration)
    client.force_login(viewer)

    page = client.get(base(administration), {"q": "nobody"})

    assert "No buyer matches “nobody”." in page.text


def test_the_list_is_paged_and_the_pages_keep_the_search(client, viewer, administration):
    for index in range(30):
        make_buyer(administration, f"Trattoria {index:02d}", tax_id="", tax_id_country="")
    make_buyer(administration, "Zeta SpA")
    client.force_login(viewer)

    first = client.get(base(administration), {"q": "trattoria"})
    second = client.get(base(administration), {"q": "trattoria", "page": 2})

    assert len(listed_names(first)) == 25 and len(listed_names(second)) == 5
    assert listed_names(first)[0] == "Trattoria 00" and "Zeta SpA" not in listed_names(second)
    assert 'href="/administrations/' in first.text and "?q=trattoria&amp;page=2" in first.text
    assert "Page 1 of 2" in first.text and 'data-testid="buyers-next"' not in second.text


def test_an_htmx_search_answers_only_the_results(client, viewer, administration):
    make_buyer(administration)
    client.force_login(viewer)

    part = client.get(base(administration), {"q": "acme"}, headers={"HX-Request": "true"})

    assert part.text.strip().startswith('<div id="buyer-results">') and "<html" not in part.text
    assert listed_names(part) == ["Acme SRL"] and "HX-Request" in part["Vary"]


# --- the contract: buyer_fields ---


def test_buyer_fields_of_an_entry_are_the_invoices_buyer_fields(member, administration):
    buyer = make_buyer(administration, street="Via Roma 1", codice_destinatario="ABC1234", leitweg_id="")

    fields = buyer_fields(f"buyer:{buyer.pk}", user=member, administration=administration)

    assert fields["buyer"] == buyer
    assert (fields["buyer_name"], fields["buyer_tax_id"], fields["buyer_tax_id_country"]) == (
        "Acme SRL",
        PARTITA_IVA,
        "IT",
    )
    assert (fields["buyer_street"], fields["buyer_city"], fields["buyer_country"]) == ("Via Roma 1", "Milano", "IT")
    assert fields["it_codice_destinatario"] == "ABC1234" and fields["de_buyer_reference"] == ""
    invoice_fields = {field.name for field in Invoice._meta.get_fields()}
    assert set(fields) <= invoice_fields


def test_buyer_fields_refuse_another_administrations_entry(member, administration, other_administration):
    theirs = make_buyer(other_administration, "Boulangerie Dubois")

    assert buyer_fields(f"buyer:{theirs.pk}", user=member, administration=administration) is None


@pytest.mark.parametrize("key", ["", "buyer:", "buyer:abc", "buyer:-1", "buyer:999999", "nobody:1", "customer:"])
def test_buyer_fields_of_a_key_naming_nothing_is_none(member, administration, key):
    make_buyer(administration)

    assert buyer_fields(key, user=member, administration=administration) is None


def test_suggestions_never_include_another_administrations_entries(member, administration, other_administration):
    make_buyer(administration, "Acme SRL")
    make_buyer(other_administration, "Acme Dubois")

    found = buyer_suggestions(user=member, administration=administration, query="acme")

    assert [suggestion.name for suggestion in found if not suggestion.from_clearfacts] == ["Acme SRL"]


# --- the contract: buyer_remember ---


def test_remembering_creates_one_entry_then_updates_it_without_duplicates(member, administration):
    first = make_invoice(administration, member, "2026-0001", it_codice_destinatario="ABC1234")
    with transaction.atomic():
        buyer_remember(first)
    entry = administration.buyers.get()
    first.refresh_from_db()
    assert first.buyer == entry and entry.codice_destinatario == "ABC1234"

    # The same buyer by tax id, written differently, moved, and this time to Germany (no Italian data).
    second = make_invoice(
        administration,
        member,
        "2026-0002",
        buyer_name="ACME s.r.l.",
        buyer_street="Corso Como 5",
        buyer_city="Milano",
        de_buyer_reference="991-03730-19",
    )
    with transaction.atomic():
        buyer_remember(second)

    assert administration.buyers.count() == 1
    entry.refresh_from_db()
    assert (entry.name, entry.street, entry.leitweg_id) == ("ACME s.r.l.", "Corso Como 5", "991-03730-19")
    assert entry.codice_destinatario == "ABC1234", "an invoice elsewhere does not erase the Italian data"
    second.refresh_from_db()
    assert second.buyer == entry


def test_without_a_tax_id_the_entry_is_found_by_name_and_city_ignoring_case(member, administration):
    entry = make_buyer(administration, "Bar Sport", tax_id="", tax_id_country="", city="Bologna")
    invoice = make_invoice(
        administration, member, buyer_name="BAR SPORT", buyer_tax_id="", buyer_tax_id_country="", buyer_city="bologna"
    )

    with transaction.atomic():
        buyer_remember(invoice)

    assert list(administration.buyers.all()) == [entry]
    assert invoice.buyer == entry


def test_an_entry_with_another_tax_id_is_another_buyer(member, administration):
    make_buyer(administration, "Acme SRL", tax_id="01114601006")
    invoice = make_invoice(administration, member)

    with transaction.atomic():
        buyer_remember(invoice)

    assert administration.buyers.count() == 2
    assert invoice.buyer.tax_id == PARTITA_IVA


def test_remembering_never_touches_another_administrations_book(member, administration, other_administration):
    theirs = make_buyer(other_administration, "Acme SRL")
    invoice = make_invoice(administration, member)

    with transaction.atomic():
        buyer_remember(invoice)

    assert invoice.buyer.administration == administration and invoice.buyer != theirs
    theirs.refresh_from_db()
    assert theirs.street == ""


@pytest.mark.django_db(transaction=True)
def test_remembering_outside_a_transaction_is_refused(member, administration):
    invoice = make_invoice(administration, member)

    with pytest.raises(RuntimeError):
        buyer_remember(invoice)
    assert not administration.buyers.exists()
