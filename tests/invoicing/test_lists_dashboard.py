"""The dashboard's invoice counts: drafts, waiting for clearance and rejected, of the invoices the user sees."""

import re

import pytest
from django.conf import settings

from invoicing.models import Invoice
from portal import dashboard
from tests.factories import make_administration, make_invoice

Status = Invoice.Status


def counts_on(client, user) -> dict[str, tuple[str, str]]:
    """status filter → (the count shown, the link) of the dashboard's invoice panel."""
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/").text
    return {
        status: (count, href.replace("&amp;", "&"))
        for href, status, count in re.findall(
            r'href="([^"]+)" data-testid="invoice-count-(\w+)">.*?data-testid="count">(\d+)<', page, flags=re.S
        )
    }


@pytest.fixture
def invoices(office, administration, member, outsider, other_administration):
    for status, how_many in [
        (Status.DRAFT, 3),
        (Status.SUBMITTING, 1),
        (Status.PENDING, 2),
        (Status.REJECTED, 1),
        (Status.ACCEPTED, 4),
    ]:
        for _ in range(how_many):
            make_invoice(administration, member, status=status)
    # Invoices the member does not see: another office's, and an administration of their office they were not granted.
    make_invoice(other_administration, outsider, status=Status.DRAFT)
    make_invoice(make_administration(office, "Slagerij Wouters BV"), member, status=Status.REJECTED)


def test_the_dashboard_counts_the_visible_invoices_per_status_and_links_to_them(client, member, invoices):
    counts = counts_on(client, member)

    assert counts == {
        "draft": ("3", "/invoices/?status=draft"),
        "waiting": ("3", "/invoices/?status=waiting"),
        "rejected": ("1", "/invoices/?status=rejected"),
    }
    waiting = client.get("/invoices/", {"status": "waiting"}).text
    assert waiting.count('data-testid="invoice-row"') == 3


def test_the_counts_are_those_of_the_users_own_office(client, outsider, invoices):
    assert {status: count for status, (count, _link) in counts_on(client, outsider).items()} == {
        "draft": "1",
        "waiting": "0",
        "rejected": "0",
    }


def test_the_counts_are_read_in_two_queries(member, administration, django_assert_num_queries, invoices):
    with django_assert_num_queries(2):
        dashboard.panels_shown(member)


def test_invoicing_adds_its_panel_once():
    from django.apps import apps

    apps.get_app_config("invoicing").ready()

    assert [panel.name for panel in dashboard.PANELS].count("invoices") == 1
