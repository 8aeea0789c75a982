"""The invoice lists: an administration's Invoices tab and /invoices/ (every administration the user sees)."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from clearfacts_app.models import AdministrationAccess
from invoicing.models import Invoice
from tests.factories import make_administration, make_invoice

Status, Type = Invoice.Status, Invoice.DocumentType
HTMX = {"HX-Request": "true"}


def tab_url(administration) -> str:
    return f"/administrations/{administration.company_number}/invoices/"


def page_of(client, user, url, params=None, language="en", **headers) -> str:
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url, params or {}, headers=headers)
    assert response.status_code == 200
    return response.text


def numbers(page: str) -> list[str]:
    """The invoice numbers of a page's rows, in order."""
    return re.findall(r'data-testid="invoice-row".*?/invoices/\d+/">([^<]+)</a>', page, flags=re.S)


def row_of(page: str, number: str) -> str:
    start = page.index(f">{number}</a>")
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]


def cell(text: str, row: str) -> bool:
    """Whether `row` has a cell that reads `text` (whatever columns it hides on a phone)."""
    return re.search(rf"<td[^>]*>{re.escape(text)}</td>", row) is not None


def older_link(page: str) -> str | None:
    match = re.search(r'data-testid="invoices-older" href="([^"]+)"', page)
    return match and match[1].replace("&amp;", "&")


def newer_link(page: str) -> str | None:
    match = re.search(r'data-testid="invoices-newer" href="([^"]+)"', page)
    return match and match[1].replace("&amp;", "&")


@pytest.fixture
def lists(administration) -> list[str]:
    return [tab_url(administration), "/invoices/"]


# --- what a row shows ---


@pytest.mark.parametrize(
    ("language", "total", "country", "issued", "kind"),
    [
        ("en", "1,275.55 EUR", "Italy", "02/11/2026", "Invoice"),
        ("nl", "1.275,55 EUR", "Italië", "2-11-2026", "Factuur"),
    ],
)
def test_a_row_shows_number_type_buyer_country_date_gross_total_and_status(
    client, member, administration, language, total, country, issued, kind
):
    # 10 × 100 at 22 % and 1 × 50.50 at 10 %: 1,000 + 220 + 50.50 + 5.05 = 1,275.55 (VAT per rate group).
    make_invoice(
        administration,
        member,
        invoice_number="2026-0007",
        buyer_name="Rossi Forniture Srl",
        lines=[(Decimal("10"), Decimal("100"), "S"), (Decimal("1"), Decimal("50.5"), "AA")],
    )

    for url in (tab_url(administration), "/invoices/"):
        row = row_of(page_of(client, member, url, language=language), "2026-0007")

        assert f'data-testid="invoice-total">{total}</td>' in row
        assert cell(kind, row) and f">{issued}</td>" in row and cell("Rossi Forniture Srl", row)
        assert cell(country, row) == (url == tab_url(administration))  # the list of all: the administration instead
        assert 'data-testid="invoice-status">' in row


def test_the_list_across_administrations_names_each_administration_the_tab_does_not(client, member, administration):
    make_invoice(administration, member, invoice_number="A-1")

    assert cell(administration.name, row_of(page_of(client, member, "/invoices/"), "A-1"))
    assert not cell(administration.name, row_of(page_of(client, member, tab_url(administration)), "A-1"))


def test_the_total_is_in_the_invoices_currency(client, member, administration):
    make_invoice(administration, member, invoice_number="PL-1", country="PL", currency="PLN")

    assert "246.00 PLN" in row_of(page_of(client, member, "/invoices/"), "PL-1")  # 200 + 23 %


# --- whose invoices ---


def test_no_list_shows_another_offices_invoices(client, member, administration, outsider, other_administration):
    make_invoice(administration, member, invoice_number="MINE-1")
    make_invoice(other_administration, outsider, invoice_number="THEIRS-1")

    for url in (tab_url(administration), "/invoices/"):
        assert numbers(page_of(client, member, url)) == ["MINE-1"]
    assert numbers(page_of(client, outsider, "/invoices/")) == ["THEIRS-1"]


def test_the_list_across_administrations_shows_only_those_the_user_was_granted(client, office, member, administration):
    granted = make_administration(office, "Brouwerij Peeters NV")
    not_granted = make_administration(office, "Slagerij Wouters BV")
    AdministrationAccess.objects.create(user=member, administration=granted)
    make_invoice(administration, member, invoice_number="BAKKERIJ-1")
    make_invoice(granted, member, invoice_number="BROUWERIJ-1")
    make_invoice(not_granted, member, invoice_number="SLAGERIJ-1")

    shown = numbers(page_of(client, member, "/invoices/"))

    assert sorted(shown) == ["BAKKERIJ-1", "BROUWERIJ-1"]
    assert client.get(tab_url(not_granted)).status_code == 404


# --- filters and search ---


@pytest.fixture
def assorted(administration, member):
    """Five invoices that differ in one filter each from the first."""
    note_of = make_invoice(administration, member, invoice_number="IT-DRAFT")
    make_invoice(administration, member, invoice_number="DE-DRAFT", country="DE", buyer_name="Müller GmbH")
    make_invoice(administration, member, invoice_number="IT-PENDING", status=Status.PENDING)
    make_invoice(administration, member, invoice_number="IT-REJECTED", status=Status.REJECTED)
    make_invoice(
        administration, member, invoice_number="IT-NOTE", document_type=Type.CREDIT_NOTE, original_invoice=note_of
    )
    make_invoice(administration, member, invoice_number="IT-MARCH", issue_date=date(2026, 3, 15), buyer_tax_id="998877")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"IT-DRAFT", "DE-DRAFT", "IT-PENDING", "IT-REJECTED", "IT-NOTE", "IT-MARCH"}),
        ({"status": "pending"}, {"IT-PENDING"}),
        ({"status": "waiting"}, {"IT-PENDING"}),
        ({"status": "rejected"}, {"IT-REJECTED"}),
        ({"country": "DE"}, {"DE-DRAFT"}),
        ({"type": "credit_note"}, {"IT-NOTE"}),
        ({"issued_from": "2026-03-01", "issued_to": "2026-03-31"}, {"IT-MARCH"}),
        ({"issued_to": "2026-03-31"}, {"IT-MARCH"}),
        ({"issued_from": "2026-04-01"}, {"IT-DRAFT", "DE-DRAFT", "IT-PENDING", "IT-REJECTED", "IT-NOTE"}),
        ({"q": "it-pend"}, {"IT-PENDING"}),
        ({"q": "müller"}, {"DE-DRAFT"}),
        ({"q": "998877"}, {"IT-MARCH"}),
        ({"country": "IT", "status": "draft", "type": "invoice"}, {"IT-DRAFT", "IT-MARCH"}),
    ],
)
def test_each_filter_and_the_search_narrow_the_list(client, member, administration, assorted, lists, params, expected):
    for url in lists:
        assert set(numbers(page_of(client, member, url, params))) == expected, url


def test_a_filter_that_matches_nothing_says_so(client, member, administration, assorted):
    page = page_of(client, member, "/invoices/", {"country": "HU"})

    assert numbers(page) == [] and "No invoice matches these filters." in page


def test_unknown_filter_values_are_ignored(client, member, administration, assorted):
    page = page_of(
        client, member, "/invoices/", {"status": "sent<script>", "country": "BE", "issued_from": "yesterday"}
    )

    assert len(numbers(page)) == 6 and "<script>" not in page.split("</nav>", 1)[1]


def test_the_status_filter_offers_waiting_for_clearance(client, member, administration):
    page = page_of(client, member, "/invoices/", {"status": "waiting"})

    assert '<option value="waiting" selected>Waiting for clearance</option>' in page


# --- pages ---


@pytest.fixture
def thirty(administration, member):
    """30 invoices numbered N-00 (oldest) to N-29 (newest), all created in the same microsecond."""
    for n in range(30):
        make_invoice(
            administration, member, invoice_number=f"N-{n:02d}", status=Status.DRAFT if n % 2 else Status.ACCEPTED
        )
    # The same created_at for all: the id alone orders them, as it must for invoices saved at once.
    Invoice.objects.update(created_at=timezone.now())


@pytest.mark.parametrize("which", [0, 1])
def test_pages_go_newest_first_without_gaps_or_repeats_and_back(client, member, administration, thirty, lists, which):
    url = lists[which]

    first = page_of(client, member, url)
    second = page_of(client, member, older_link(first))
    back = page_of(client, member, newer_link(second))

    assert numbers(first) == [f"N-{n:02d}" for n in range(29, 4, -1)]
    assert numbers(second) == [f"N-{n:02d}" for n in range(4, -1, -1)]
    assert older_link(second) is None and newer_link(first) is None
    assert numbers(back) == numbers(first) and newer_link(back) is None


def test_the_pages_keep_the_filters(client, member, administration, thirty):
    for n in range(30, 60):
        make_invoice(administration, member, invoice_number=f"N-{n:02d}", status=Status.DRAFT)

    first = page_of(client, member, "/invoices/", {"status": "draft", "q": "N-"})
    link = older_link(first)
    second = page_of(client, member, link)

    assert link.startswith("/invoices/?q=N-&status=draft&after=")
    assert len(numbers(first)) == 25 and len(numbers(second)) == 20
    assert all(int(number[2:]) % 2 or int(number[2:]) >= 30 for number in numbers(first) + numbers(second))
    assert not set(numbers(first)) & set(numbers(second))


@pytest.mark.parametrize(
    ("key", "cursor"),
    [
        ("after", "nonsense"),
        ("before", "12.x"),
        ("after", "9" * 30 + ".1"),
        ("after", "1.1"),  # older than 1970: nothing there
        ("before", "99999999999999999.1"),  # newer than the year 5000
    ],
)
def test_a_cursor_that_is_not_one_or_past_the_end_shows_the_first_page(
    client, member, administration, thirty, key, cursor
):
    page = page_of(client, member, "/invoices/", {key: cursor})

    assert numbers(page)[:1] == ["N-29"] and len(numbers(page)) == 25 and newer_link(page) is None


def test_the_list_swaps_only_its_rows_and_pages_for_htmx(client, member, administration, thirty, lists):
    for url in lists:
        results = page_of(client, member, url, {"status": "draft"}, **HTMX, **{"HX-Target": "invoice-results"})

        assert results.lstrip().startswith('<div id="invoice-results"') and "<html" not in results
        assert 'data-testid="invoice-filters"' not in results and len(numbers(results)) == 15


def test_the_tab_answers_the_whole_tabs_to_a_tab_switch(client, member, administration):
    tabs = page_of(client, member, tab_url(administration), **HTMX, **{"HX-Target": "tabs"})

    assert tabs.lstrip().startswith('<section id="tabs"') and 'data-testid="invoice-filters"' in tabs


def test_the_filter_form_and_the_page_links_work_without_javascript(client, member, administration, thirty):
    page = page_of(client, member, tab_url(administration))
    form = page[page.index('data-testid="invoice-filters"') - 300 :]

    assert f'method="get" action="{tab_url(administration)}"' in form and 'type="submit"' in form
    assert older_link(page).startswith(f"{tab_url(administration)}?after=")
    assert 'hx-target="#invoice-results"' in page and 'hx-push-url="true"' in page


@pytest.mark.parametrize("size", [1, 40])
def test_a_page_costs_the_same_number_of_queries_whatever_the_number_of_invoices(
    client, member, administration, django_assert_max_num_queries, size
):
    for n in range(size):
        make_invoice(
            administration,
            member,
            invoice_number=f"Q-{n}",
            lines=[(Decimal(1), Decimal(10), "S"), (Decimal(2), Decimal(5), "AA"), (Decimal(3), Decimal(1), "E")],
        )
    client.force_login(member)
    first = client.get("/invoices/")  # the session and the credential settle on the first request

    for url in ("/invoices/", tab_url(administration), older_link(first.text) or "/invoices/"):
        with django_assert_max_num_queries(QUERIES_PER_PAGE):
            assert client.get(url).status_code == 200


# Measured: 11 for /invoices/, 14 for the tab (its session is saved); one reads the TEST/LIVE badge's key,
# one counts the bell's unread notifications, one reads the user's roles on the rows' administrations
# (clearfacts_app.roles.roles_on, whatever the number of rows).
QUERIES_PER_PAGE = 15


# --- the tab and the actions it offers ---


def test_the_tab_is_second_and_offers_a_new_invoice_the_profile_and_the_buyers(client, member, administration):
    page = page_of(client, member, tab_url(administration))
    base = f"/administrations/{administration.company_number}"

    tabs = re.findall(r'data-testid="tab-(\w+)"', page)
    assert tabs[:2] == ["documents", "invoices"] and 'aria-selected="true" aria-controls="tab-panel">Invoices' in page
    assert f'href="{base}/invoices/new/"' in page
    assert f'href="{base}/invoicing/profile/"' in page and f'href="{base}/invoicing/buyers/"' in page


def test_the_main_navigation_leads_to_every_invoice(client, member, administration):
    page = page_of(client, member, "/")

    assert re.search(r'<a class="nav-link"\s+href="/invoices/">Invoices</a>', page)
    assert re.search(r'<a class="nav-link active"\s+href="/invoices/">', page_of(client, member, "/invoices/"))


def test_members_get_the_row_actions_that_apply_viewers_none(client, member, viewer, administration):
    invoice = make_invoice(administration, member, invoice_number="DRAFT-1")
    make_invoice(administration, member, invoice_number="SENT-1", status=Status.ACCEPTED)
    make_invoice(
        administration, member, invoice_number="NOTE-1", document_type=Type.CREDIT_NOTE, original_invoice=invoice
    )
    base = f"/administrations/{administration.company_number}/invoices"

    for url in (tab_url(administration), "/invoices/"):
        page = page_of(client, member, url)
        draft, sent, note = row_of(page, "DRAFT-1"), row_of(page, "SENT-1"), row_of(page, "NOTE-1")
        assert f'action="{base}/{invoice.pk}/duplicate/"' in draft and f'href="{base}/{invoice.pk}/delete/"' in draft
        assert f'action="{base}/{invoice.pk}/credit-note/"' in draft
        assert "invoice-duplicate" in sent and "invoice-credit-note" in sent and "invoice-delete" not in sent
        assert "invoice-duplicate" in note and "invoice-credit-note" not in note and "invoice-delete" in note

        seen = page_of(client, viewer, url)
        assert len(numbers(seen)) == 3 and 'method="post"' not in seen.split('id="invoice-results"', 1)[1]
        assert "/invoices/new/" not in seen


def test_an_empty_list_says_there_are_no_invoices_yet(client, member, administration):
    assert "No invoices yet." in page_of(client, member, tab_url(administration))
