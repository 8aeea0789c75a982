"""The invoice lists keep each drawn row and filter form in the `fragments` cache under what it
shows (invoicing.list_rows): a change to anything a row shows must show at once, cache or not."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import caches

from clearfacts_app.models import AdministrationAccess
from clearfacts_app.roles import Role
from invoicing.models import Invoice
from tests.factories import make_invoice
from tests.invoicing.clearance_helpers import Clearance, make_submission
from tests.invoicing.test_lists import page_of, row_of, tab_url

Status = Invoice.Status


@pytest.fixture(autouse=True)
def empty_fragments():
    caches["fragments"].clear()
    yield
    caches["fragments"].clear()


@pytest.fixture
def invoice(administration, member):
    return make_invoice(administration, member, invoice_number="F-1", status=Status.DRAFT)


def test_a_drawn_row_is_kept_and_drawn_from_the_cache_next_time(client, member, administration, invoice):
    fragments = caches["fragments"]
    page_of(client, member, tab_url(administration))
    kept = [key for key in fragments._cache if "invoice_row" in key]
    assert len(kept) == 1
    fragments.set(kept[0].split(":", 2)[-1], "<tr><td>drawn from the cache</td></tr>", None)
    assert "drawn from the cache" in page_of(client, member, tab_url(administration))


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"status": Status.ACCEPTED}, 'data-testid="choose-accepted"'),
        ({"status": Status.REJECTED}, 'data-status="rejected"'),
        ({"buyer_name": "Bianchi SpA"}, "Bianchi SpA"),
        ({"invoice_number": "F-2"}, ">F-2</a>"),
        ({"issue_date": "2026-12-24"}, "24/12/2026"),
        ({"currency": "USD"}, "244.00 USD"),
        ({"country": "PL"}, "Poland"),
        ({"version": 7}, 'value="{pk}:7"'),
        ({"document_type": Invoice.DocumentType.CREDIT_NOTE}, "Credit note</td>"),
    ],
)
def test_a_change_to_what_a_row_shows_shows_at_once(client, member, administration, invoice, change, shown):
    page_of(client, member, tab_url(administration))  # the row is drawn and kept
    Invoice.objects.filter(pk=invoice.pk).update(**change)
    assert shown.format(pk=invoice.pk) in row_of(
        page_of(client, member, tab_url(administration)), change.get("invoice_number", "F-1")
    )


def test_a_changed_line_changes_the_total(client, member, administration, invoice):
    assert "244.00 EUR" in page_of(client, member, tab_url(administration))
    invoice.lines.update(unit_price=Decimal("150.00"))
    assert "366.00 EUR" in row_of(page_of(client, member, tab_url(administration)), "F-1")


def test_a_row_follows_the_readers_role_and_language(client, member, administration, invoice):
    assert 'data-testid="invoice-delete"' in page_of(client, member, tab_url(administration))
    dutch = page_of(client, member, tab_url(administration), language="nl")
    assert "Factuur" in row_of(dutch, "F-1") and "Verwijderen" in row_of(dutch, "F-1")
    AdministrationAccess.objects.filter(user=member, administration=administration).update(role=Role.VIEWER)
    viewed = row_of(page_of(client, member, tab_url(administration)), "F-1")
    assert 'data-testid="invoice-delete"' not in viewed and 'data-testid="choose-invoice"' not in viewed


def test_the_list_across_administrations_names_the_administration_the_tab_does_not(
    client, member, administration, invoice
):
    page_of(client, member, tab_url(administration))
    assert "Bakkerij Janssens BV</td>" in row_of(page_of(client, member, "/invoices/"), "F-1")
    assert "Bakkerij Janssens BV</td>" not in row_of(page_of(client, member, tab_url(administration)), "F-1")


def test_the_filter_form_shows_the_values_given_and_the_language(client, member, administration, invoice):
    page_of(client, member, tab_url(administration))
    filtered = page_of(client, member, tab_url(administration), {"status": "rejected", "q": "Rossi"})
    assert '<option value="rejected" selected>' in filtered and 'value="Rossi"' in filtered
    assert '<option value="rejected" selected>' not in page_of(client, member, tab_url(administration))
    assert "Elk land" in page_of(client, member, tab_url(administration), language="nl")


def test_an_invoices_timeline_shows_each_new_event_though_the_drawn_events_are_kept(
    client, member, administration, invoice
):
    at = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    Invoice.objects.filter(pk=invoice.pk).update(status=Status.PENDING)
    submission = make_submission(invoice, member, events=[(Clearance.PENDING, at, "Received", {})])
    url = f"{tab_url(administration)}{invoice.pk}/"
    first = page_of(client, member, url)
    assert first.count('data-testid="event"') == 1 and "Received" in first
    submission.events.create(status=Clearance.ACCEPTED, at=at + timedelta(hours=1), message="Cleared")
    second = page_of(client, member, url)
    assert second.count('data-testid="event"') == 2 and "Cleared" in second
    timeline = page_of(client, member, f"{url}timeline/", language="nl", HX_Request="true")
    assert "Aanvaard" in timeline
