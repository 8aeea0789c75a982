"""The editor's buyer search finds what its help text promises: name, VAT number or city, as the Buyers page."""

import re

import pytest

from invoicing.buyers import buyer_suggestions
from invoicing.models import Buyer
from tests.invoicing.editor_helpers import complete_profile, form_data

QUERIES = [
    ("acme", ["Acme SRL"]),
    ("IT 0074 311", ["Acme SRL"]),
    ("IT00743110157", ["Acme SRL"]),
    ("00743110157", ["Acme SRL"]),
    ("de136695976", ["Müller GmbH"]),
    ("berlin", ["Müller GmbH"]),
    ("MILANO", ["Acme SRL"]),
]


@pytest.fixture
def address_book(administration):
    Buyer.objects.create(
        administration=administration, name="Acme SRL", tax_id="00743110157", tax_id_country="IT", city="Milano"
    )
    Buyer.objects.create(
        administration=administration, name="Müller GmbH", tax_id="136695976", tax_id_country="DE", city="Berlin"
    )


@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_suggestions_search_the_address_book_by_name_tax_id_or_city(
    member, administration, address_book, query, expected
):
    found = buyer_suggestions(user=member, administration=administration, query=query)

    assert [suggestion.name for suggestion in found] == expected


@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_the_buyers_page_and_the_editor_find_the_same_entries(
    client, member, administration, address_book, query, expected
):
    complete_profile(administration)
    client.force_login(member)

    page = client.get(f"/administrations/{administration.company_number}/invoicing/buyers/", {"q": query})
    editor = client.post(
        f"/administrations/{administration.company_number}/invoices/new/",
        form_data(action="find-buyer", buyer_query=query),
        headers={"HX-Request": "true"},
    )

    assert [buyer.name for buyer in page.context["page"].object_list] == expected
    assert re.findall(r'<span class="fw-medium">([^<]+)</span>', editor.text) == expected
