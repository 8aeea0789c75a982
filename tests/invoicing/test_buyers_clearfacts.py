"""The invoice form's buyer suggestions with the administration's Clearfacts customers, read from the
sandbox over a real socket; and what happens when Clearfacts cannot answer (only the address book)."""

import pytest
from django.conf import settings
from django.test import override_settings

from clearfacts_app.models import Administration
from invoicing.buyers import buyer_fields, buyer_suggestions
from invoicing.models import Buyer, Invoice
from sandbox.clearfacts.models import AccessToken, Company, Customer
from sandbox.instrument import fail_next
from sandbox.models import RequestLog
from tests.personas import BAKKERIJ, SOFIE
from tests.signed_in import sign_in_directly


def customer_calls() -> int:
    return RequestLog.objects.filter(service="clearfacts-graphql", operation="customers").count()


def bakkerij(browser) -> Administration:
    return Administration.objects.visible_to(browser.user).get(company_number=BAKKERIJ)


def add_customer(code, name, *, vat_number="", city=""):
    company = Company.objects.get(company_number=BAKKERIJ)
    return Customer.objects.create(company=company, code=code, name=name, vat_number=vat_number, city=city)


def test_suggestions_list_the_address_book_first_then_the_clearfacts_customers(sofie):
    administration = bakkerij(sofie)
    entry = Buyer.objects.create(administration=administration, name="Taverne Italia", city="Milano", country="IT")
    # Bakkerij Maes has 18 customers in Clearfacts; "Taverne" names numbers 1, 8 and 15.
    tavernes = list(Customer.objects.filter(company__company_number=BAKKERIJ, name__startswith="Taverne"))

    found = buyer_suggestions(user=sofie.user, administration=administration, query="taverne")

    assert found[0].key == f"buyer:{entry.pk}" and not found[0].from_clearfacts
    assert [(s.key, s.name, s.city) for s in found[1:]] == [(f"customer:{c.code}", c.name, c.city) for c in tavernes]
    assert all(s.from_clearfacts for s in found[1:]) and len(tavernes) == 3
    assert customer_calls() == 1

    again = buyer_suggestions(user=sofie.user, administration=administration, query="taverne")
    assert again == found and customer_calls() == 1, "the customers are cached"


def test_suggestions_stop_at_the_limit_and_skip_customers_already_in_the_book(sofie):
    administration = bakkerij(sofie)
    first = Customer.objects.filter(company__company_number=BAKKERIJ).order_by("code").first()
    Buyer.objects.create(administration=administration, name=first.name, city=first.city, country="BE")

    found = buyer_suggestions(user=sofie.user, administration=administration, query="(1", limit=5)

    assert len(found) == 5 and found[0].key.startswith("buyer:")
    assert f"customer:{first.code}" not in [s.key for s in found]


def test_suggestions_find_customers_by_vat_number(sofie):
    add_customer("K0900", "Acme SRL", vat_number="IT00743110157", city="Milano")

    found = buyer_suggestions(user=sofie.user, administration=bakkerij(sofie), query="IT 0074311")

    assert [(s.key, s.tax_id) for s in found] == [("customer:K0900", "IT00743110157")]


def test_buyer_fields_of_a_customer_split_its_vat_number_into_country_and_number(sofie):
    add_customer("K0900", "Acme SRL", vat_number="IT 00743110157", city="Milano")

    fields = buyer_fields("customer:K0900", user=sofie.user, administration=bakkerij(sofie))

    assert fields["buyer"] is None
    assert (fields["buyer_name"], fields["buyer_tax_id"], fields["buyer_tax_id_country"]) == (
        "Acme SRL",
        "00743110157",
        "IT",
    )
    assert (fields["buyer_city"], fields["buyer_country"], fields["buyer_street"]) == ("Milano", "IT", "")
    assert set(fields) <= {field.name for field in Invoice._meta.get_fields()}


def test_buyer_fields_of_a_customer_without_vat_number_leave_the_tax_id_empty(sofie):
    customer = Customer.objects.filter(company__company_number=BAKKERIJ).order_by("code").first()

    fields = buyer_fields(f"customer:{customer.code}", user=sofie.user, administration=bakkerij(sofie))

    assert (fields["buyer_name"], fields["buyer_city"]) == (customer.name, customer.city)
    assert (fields["buyer_tax_id"], fields["buyer_tax_id_country"], fields["buyer_country"]) == ("", "", "")


def test_buyer_fields_of_a_customer_of_another_administration_is_none(sofie):
    # Brouwerij De Leeuw has 142 customers; Bakkerij Maes has 18, so K0100 is not one of hers.
    assert Customer.objects.filter(company__company_number="0441908244", code="K0100").exists()

    assert buyer_fields("customer:K0100", user=sofie.user, administration=bakkerij(sofie)) is None


def test_buyer_fields_of_a_remembered_customer_come_from_the_address_book(sofie):
    administration = bakkerij(sofie)
    entry = Buyer.objects.create(
        administration=administration, name="Acme", city="Milano", country="IT", clearfacts_customer_id="K0001"
    )

    fields = buyer_fields("customer:K0001", user=sofie.user, administration=administration)

    assert fields["buyer"] == entry and fields["buyer_name"] == "Acme" and customer_calls() == 0


def test_clearfacts_unreachable_leaves_the_address_book_and_no_error(sofie):
    administration = bakkerij(sofie)
    Buyer.objects.create(administration=administration, name="Taverne Italia", city="Milano", country="IT")

    with override_settings(CLEARFACTS_GRAPHQL_URL="http://127.0.0.1:9/graphql"):
        found = buyer_suggestions(user=sofie.user, administration=administration, query="taverne")
        fields = buyer_fields("customer:K0001", user=sofie.user, administration=administration)

    assert [s.name for s in found] == ["Taverne Italia"] and fields is None


def test_clearfacts_failing_leaves_the_address_book_and_no_error(sofie):
    administration = bakkerij(sofie)
    Buyer.objects.create(administration=administration, name="Taverne Italia", city="Milano", country="IT")
    fail_next("clearfacts-graphql", status=503, count=5)

    found = buyer_suggestions(user=sofie.user, administration=administration, query="taverne")

    assert [s.name for s in found] == ["Taverne Italia"]


def test_a_refused_token_leaves_the_address_book_and_no_error(sofie):
    administration = bakkerij(sofie)
    Buyer.objects.create(administration=administration, name="Taverne Italia", city="Milano", country="IT")
    AccessToken.objects.all().delete()

    found = buyer_suggestions(user=sofie.user, administration=administration, query="taverne")

    assert [s.name for s in found] == ["Taverne Italia"]


def test_without_the_contact_read_scope_only_the_address_book_is_asked(portal):
    scope = " ".join(s for s in settings.OIDC_RP_SCOPES.split() if s != "contact_read")
    browser = sign_in_directly(portal, SOFIE, language="en", scope=scope)
    administration = bakkerij(browser)
    Buyer.objects.create(administration=administration, name="Taverne Italia", city="Milano", country="IT")

    found = buyer_suggestions(user=browser.user, administration=administration, query="taverne")

    assert [s.name for s in found] == ["Taverne Italia"] and customer_calls() == 0


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_query_suggests_address_book_entries_without_asking_clearfacts(sofie, query):
    administration = bakkerij(sofie)
    Buyer.objects.create(administration=administration, name="Acme SRL", city="Milano", country="IT")

    found = buyer_suggestions(user=sofie.user, administration=administration, query=query)

    assert [s.name for s in found] == ["Acme SRL"] and customer_calls() == 0
