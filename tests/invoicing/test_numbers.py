"""Invoice numbers: the profile's pattern, its sequence, the new year, and two people saving at once."""

import threading
import time
from datetime import date

import pytest
from django.db import connection, transaction

from clearfacts_app.models import Activity
from invoicing import services
from invoicing.models import Invoice, InvoicingProfile
from invoicing.numbers import format_number, number_allocate, number_suggest, pattern_problem
from tests.invoicing.editor_helpers import complete_profile, form_data, make_invoice

MARCH = date(2026, 3, 2)


@pytest.fixture
def profile(administration):
    return complete_profile(administration)


def allocate(profile, on=MARCH):
    with transaction.atomic():
        return number_allocate(profile, on=on)


@pytest.mark.parametrize(
    ("pattern", "number"),
    [
        ("{YYYY}-{NNNN}", "2026-0042"),
        ("F{YY}/{NNN}", "F26/042"),
        ("{N}", "42"),
        ("INV-{NNNNNN}", "INV-000042"),
        ("{NN}", "42"),
        ("{N}-{YYYY}", "42-2026"),
    ],
)
def test_a_pattern_makes_numbers_from_the_year_and_the_sequence(pattern, number):
    assert format_number(pattern, sequence=42, year=2026) == number


def test_a_sequence_longer_than_its_ns_is_not_cut():
    assert format_number("{NN}", sequence=1234, year=2026) == "1234"


@pytest.mark.parametrize(
    ("pattern", "usable"), [("{YYYY}-{NNNN}", True), ("{YYYY}", False), ("{YYYY}-{X}-{NN}", False), ("A{NN}B", True)]
)
def test_a_pattern_needs_the_sequence_and_only_known_tokens(pattern, usable):
    assert (pattern_problem(pattern) is None) == usable


@pytest.mark.django_db
def test_numbers_follow_the_sequence_and_the_suggestion_uses_none_up(profile):
    assert number_suggest(profile, on=MARCH) == "2026-0001"
    assert number_suggest(profile, on=MARCH) == "2026-0001"

    assert [allocate(profile), allocate(profile)] == ["2026-0001", "2026-0002"]
    profile.refresh_from_db()
    assert (profile.next_sequence, profile.sequence_year) == (3, 2026)
    assert number_suggest(profile, on=MARCH) == "2026-0003"


@pytest.mark.django_db
def test_a_number_already_used_is_skipped(profile, member, administration):
    make_invoice(administration, member, number="2026-0001")
    make_invoice(administration, member, number="2026-0002")

    assert number_suggest(profile, on=MARCH) == "2026-0003"
    assert allocate(profile) == "2026-0003"


@pytest.mark.django_db
def test_another_administrations_numbers_do_not_count(profile, outsider, other_administration):
    make_invoice(other_administration, outsider, number="2026-0001")

    assert allocate(profile) == "2026-0001"


@pytest.mark.django_db
def test_a_pattern_with_the_year_starts_again_at_one_in_a_new_year(profile):
    InvoicingProfile.objects.filter(pk=profile.pk).update(next_sequence=57, sequence_year=2025)

    assert allocate(profile, on=date(2025, 12, 31)) == "2025-0057"
    assert allocate(profile, on=date(2026, 1, 5)) == "2026-0001"
    assert allocate(profile, on=date(2026, 1, 6)) == "2026-0002"


@pytest.mark.django_db
def test_a_pattern_without_the_year_keeps_counting(administration):
    profile = complete_profile(administration, number_pattern="F{NNNNN}", next_sequence=57, sequence_year=2025)

    assert allocate(profile, on=date(2026, 1, 5)) == "F00057"


@pytest.mark.django_db(transaction=True)
def test_allocating_outside_the_saving_transaction_is_refused(profile):
    with pytest.raises(RuntimeError):
        number_allocate(profile, on=MARCH)


@pytest.mark.django_db(transaction=True)
def test_two_people_saving_at_once_get_two_different_numbers(administration, member):
    profile = complete_profile(administration)
    start = threading.Barrier(2)
    numbers, errors = [], []

    def save_one(name):
        try:
            start.wait(timeout=10)
            with transaction.atomic():
                number = number_allocate(profile, on=MARCH)
                time.sleep(0.3)  # still saving while the other person asks for a number
                make_invoice(administration, member, number=number, buyer_name=name)
            numbers.append(number)
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=save_one, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(numbers) == ["2026-0001", "2026-0002"]
    assert Invoice.objects.count() == 2


# A number typed by the user


@pytest.mark.django_db
def test_a_typed_number_already_used_is_a_field_error_not_a_crash(client, member, administration, profile):
    make_invoice(administration, member, number="F-1")
    client.force_login(member)

    response = client.post(
        f"/administrations/{administration.company_number}/invoices/new/", form_data(invoice_number="F-1")
    )

    assert response.status_code == 200
    assert "already exists in this administration" in response.context["form"].errors["invoice_number"][0]
    assert Invoice.objects.count() == 1


@pytest.mark.django_db
def test_the_same_number_in_another_administration_is_fine(
    client, member, outsider, administration, other_administration, profile
):
    make_invoice(other_administration, outsider, number="F-1")
    client.force_login(member)

    response = client.post(
        f"/administrations/{administration.company_number}/invoices/new/", form_data(invoice_number="F-1")
    )

    assert response.status_code == 302
    assert Invoice.objects.filter(administration=administration, invoice_number="F-1").exists()


@pytest.mark.django_db
def test_a_number_taken_while_saving_raises_a_domain_error_and_saves_nothing(member, administration, profile):
    make_invoice(administration, member, number="F-1")
    invoice = Invoice(document_type="invoice", invoice_number="F-1", issue_date=MARCH, country="IT", buyer_name="X")

    with pytest.raises(services.InvoiceNumberTaken):
        services.invoice_create(administration=administration, author=member, invoice=invoice, lines=[])

    assert Invoice.objects.count() == 1 and not Activity.objects.filter(action="invoice.created").exists()


@pytest.mark.django_db
def test_a_number_taken_between_the_check_and_the_save_is_a_field_error(
    client, member, administration, profile, monkeypatch
):
    def taken(**kwargs):
        raise services.InvoiceNumberTaken("F-2")

    monkeypatch.setattr(services, "invoice_create", taken)
    client.force_login(member)

    response = client.post(
        f"/administrations/{administration.company_number}/invoices/new/", form_data(invoice_number="F-2")
    )

    assert response.status_code == 200
    assert "was just saved by someone else" in response.context["form"].errors["invoice_number"][0]


@pytest.mark.django_db
def test_the_suggested_number_follows_the_issue_dates_year(client, member, administration, profile):
    client.force_login(member)

    response = client.post(
        f"/administrations/{administration.company_number}/invoices/new/",
        form_data(action="refresh", issue_date="2025-12-30"),
    )

    assert 'placeholder="2025-0001"' in response.text
