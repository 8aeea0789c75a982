"""What a crafted request must not do to the invoicing pages: make them slow, huge, or fail with a 500."""

from datetime import date

import pytest

from invoicing import numbers
from invoicing.forms import MAX_LINES
from invoicing.models import Buyer, Invoice
from tests.factories import make_invoice
from tests.invoicing.editor_helpers import LINE, complete_profile, form_data
from tests.invoicing.test_admin import change_url, form_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def profile(administration):
    return complete_profile(administration)


def new_url(administration):
    return f"/administrations/{administration.company_number}/invoices/new/"


def test_adding_lines_stops_at_the_limit_however_many_the_request_claims(client, member, administration, profile):
    client.force_login(member)
    data = form_data(action="add-line") | {"lines-TOTAL_FORMS": "1999"}

    response = client.post(new_url(administration), data, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.text.count('data-testid="invoice-line"') <= MAX_LINES


def test_an_invoice_with_more_lines_than_the_limit_is_refused_with_a_message(client, member, administration, profile):
    client.force_login(member)
    data = form_data(lines=[LINE] * (MAX_LINES + 1))

    response = client.post(new_url(administration), data)

    assert response.status_code == 200
    assert f"An invoice has at most {MAX_LINES} lines." in response.text
    assert not Invoice.objects.exists()


def test_the_next_number_costs_a_few_queries_with_thousands_taken(
    administration, member, profile, django_assert_max_num_queries
):
    make_invoice(administration, member, invoice_number="2026-0001")
    Invoice.objects.bulk_create(
        Invoice(
            administration=administration,
            author=member,
            invoice_number=f"2026-{sequence:04d}",
            issue_date=date(2026, 1, 1),
            country="IT",
            buyer_name="B",
            buyer_city="Roma",
            buyer_country="IT",
        )
        for sequence in range(2, 1500)
    )

    with django_assert_max_num_queries(6):
        assert numbers.number_suggest(profile, on=date(2026, 5, 1)) == "2026-1500"


def test_a_back_dated_invoice_does_not_move_the_current_years_sequence(administration, profile, django_db_blocker):
    from django.db import transaction

    with transaction.atomic():
        assert numbers.number_allocate(profile, on=date(2026, 3, 1)) == "2026-0001"
        assert numbers.number_allocate(profile, on=date(2026, 3, 2)) == "2026-0002"
        assert numbers.number_allocate(profile, on=date(2025, 12, 30)) == "2025-0001"
        assert numbers.number_allocate(profile, on=date(2026, 3, 3)) == "2026-0003"


@pytest.mark.parametrize(
    "request_",
    [
        ("get", "/invoices/", {"after": "².1"}),
        ("get", "/invoices/", {"before": "1.٣"}),
        ("post-editor", "remove-line:²", {}),
        ("post-editor", "use-buyer", {"buyer_key": "buyer:²"}),
        ("post-editor", "refresh", {"document_type": "credit_note", "original_invoice": "²"}),
    ],
    ids=["after", "before", "remove-line", "use-buyer", "original-invoice"],
)
def test_digits_that_are_not_ascii_are_refused_quietly(client, member, administration, profile, request_):
    client.force_login(member)
    kind, value, extra = request_
    if kind == "get":
        response = client.get(value, extra)
    else:
        action = value if kind == "post-editor" else "save"
        data = form_data(action=action) | extra
        if "buyer_key" in extra:
            data["action"] = f"use-buyer:{extra['buyer_key']}"
        response = client.post(new_url(administration), data, headers={"HX-Request": "true"})
    assert response.status_code == 200


def test_a_pattern_longer_than_the_field_gets_no_example(client, owner, administration, profile):
    client.force_login(owner)
    url = f"/administrations/{administration.company_number}/invoicing/profile/"

    response = client.get(url, {"number_pattern": "{" + "N" * 100_000 + "}"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert len(response.content) < 10_000


def test_the_admin_refuses_another_administrations_buyer_and_original(
    admin_client, administration, member, other_administration, outsider
):
    draft = make_invoice(administration, member, invoice_number="D-1")
    foreign_buyer = Buyer.objects.create(administration=other_administration, name="Elsewhere", city="Roma")
    foreign_invoice = make_invoice(other_administration, outsider, invoice_number="X-1")
    data = form_of(admin_client.get(change_url(draft)).text).values | {
        "buyer": str(foreign_buyer.pk),
        "original_invoice": str(foreign_invoice.pk),
        "document_type": "credit_note",
        "_save": "Save",
    }

    response = admin_client.post(change_url(draft), data)

    assert response.status_code == 200  # the form again, with errors
    draft.refresh_from_db()
    assert draft.buyer_id is None and draft.original_invoice_id is None
