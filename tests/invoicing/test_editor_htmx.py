"""The editor with HTMX: each button answers only the part of the page it changes."""

import re

import pytest

from invoicing import buyers
from invoicing.models import Invoice
from tests.invoicing.editor_helpers import complete_profile, edit_data, form_data, make_invoice

HTMX = {"HX-Request": "true"}


@pytest.fixture
def signed_in(client, member, administration):
    complete_profile(administration)
    client.force_login(member)
    return client


def new_url(administration):
    return f"/administrations/{administration.company_number}/invoices/new/"


def line(description="", quantity="", unit_price="", tax_code="S", **more):
    return {
        "description": description,
        "quantity": quantity,
        "unit": "EA",
        "unit_price": unit_price,
        "tax_code": tax_code,
    } | more


def oob(html: str, element_id: str) -> str:
    """The content of the out-of-band element `element_id` in an HTMX answer."""
    match = re.search(rf'<(\w+) id="{element_id}" hx-swap-oob="innerHTML">(.*?)</\1>', html, re.S)
    assert match, f"no out-of-band #{element_id} in the answer"
    return match[2]


def test_add_line_answers_the_lines_with_one_more_empty_line_focused_and_no_errors_yet(signed_in, administration):
    data = form_data(action="add-line", lines=[line("Half typed", quantity="2")])

    response = signed_in.post(new_url(administration), data, headers=HTMX)

    html = response.text
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="invoice-lines"') and "<html" not in html
    assert 'name="lines-TOTAL_FORMS" value="2"' in html
    assert 'value="Half typed"' in html  # what was typed stays
    assert re.search(r'<input type="text" name="lines-1-description"[^>]*autofocus', html)
    assert "error" not in html.lower().replace("_error", "")  # no "required" for a line still being typed
    assert not Invoice.objects.exists()


def test_add_line_without_javascript_answers_the_whole_page(signed_in, administration):
    response = signed_in.post(new_url(administration), form_data(action="add-line"))

    assert "<html" in response.text and 'id="invoice-form"' in response.text
    assert len(response.context["formset"].forms) == 2


def test_remove_line_drops_it_from_the_lines_and_the_totals(signed_in, administration):
    lines = [line("Keep", "1", "100"), line("Drop", "1", "50")]
    response = signed_in.post(new_url(administration), form_data(action="remove-line:1", lines=lines), headers=HTMX)

    html = response.text
    assert html.lstrip().startswith('<div id="invoice-lines"')
    assert 'value="Keep"' in html and 'value="Drop"' not in html
    assert '<input type="hidden" name="lines-1-DELETE" value="on">' in html
    assert '<span data-testid="total-net">100.00</span>' in html
    assert re.search(r'<button [^>]*value="add-line"[^>]*autofocus', html, re.S)  # focus stays on the lines


def test_a_removed_line_posted_back_is_not_saved(signed_in, administration):
    lines = [line("Keep", "1", "100"), line("Drop", "1", "50", DELETE="on")]

    signed_in.post(new_url(administration), form_data(lines=lines))

    assert [saved.description for saved in Invoice.objects.get().lines.all()] == ["Keep"]


def test_remove_line_with_a_nonsense_index_changes_nothing(signed_in, administration):
    response = signed_in.post(new_url(administration), form_data(action="remove-line:7"), headers=HTMX)

    assert response.status_code == 200 and "DELETE" not in response.text


def test_recalculate_answers_only_the_amounts_exactly_and_in_the_readers_locale(signed_in, administration, settings):
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"
    # 3 × 333,335 is 1000.005 exactly: rounded half up to 1000.01 (a float would make it 1000.00).
    lines = [line("Licence", "3", "333,335", "S"), line("Support", "8", "125", "AA"), line("", "", "")]
    data = form_data(action="recalculate", lines=lines, country="IT")

    response = signed_in.post(new_url(administration), data, headers=HTMX)

    html = response.text
    assert "<input" not in html and "<select" not in html  # nothing the user is typing in is replaced
    assert oob(html, "line-total-0") == "1.000,01"
    assert oob(html, "line-total-1") == "1.000,00"
    assert oob(html, "line-total-2") == "—"
    totals = oob(html, "invoice-totals")
    assert '<span data-testid="total-net">2.000,01</span> EUR' in totals
    assert re.findall(r'data-testid="vat-group">([^<]*)<', totals) == ["220,00 EUR", "100,00 EUR"]  # per rate
    assert '<span data-testid="total-vat">320,00</span> EUR' in totals  # 220.0022 → 220.00, plus 100.00
    assert '<span data-testid="total-gross">2.320,01</span> EUR' in totals


def test_recalculate_leaves_out_lines_not_valid_yet_and_shows_the_currency(signed_in, administration):
    lines = [line("Licence", "2", "10.005", "S"), line("Typo", "two", "10", "S")]
    data = form_data(action="recalculate", lines=lines, country="DE", currency="PLN")

    html = signed_in.post(new_url(administration), data, headers=HTMX).text

    assert oob(html, "line-total-0") == "20.01"
    assert oob(html, "line-total-1") == "—"
    totals = oob(html, "invoice-totals")
    assert '<span data-testid="total-net">20.01</span> PLN' in totals
    assert '<span data-testid="total-gross">23.81</span> PLN' in totals  # 19 % in Germany: 3.8019 → 3.80


def test_another_country_refreshes_the_form_tax_codes_and_country_data(signed_in, administration):
    lines = [line("Olio", "1", "10", "AC")]
    data = form_data(action="refresh", country="DE", lines=lines, it_codice_destinatario="ABC1234")

    html = signed_in.post(new_url(administration), data, headers=HTMX).text

    assert html.lstrip().startswith('<form id="invoice-form"')
    assert '<option value="DE" selected>' in html
    assert 'data-testid="country-data-de"' in html and 'data-testid="country-data-it"' not in html
    assert 'name="de_buyer_reference"' in html
    # The Italian data is kept, hidden, while the user may still switch back.
    assert '<input type="hidden" name="it_codice_destinatario" value="ABC1234"' in html
    options = re.findall(r'<option value="(\w+)"', html.split('name="lines-0-tax_code"')[1].split("</select>")[0])
    assert options == ["S", "AA", "AE", "K", "G", "E", "O", "Z", "AC"]
    assert "AC · Super-reduced rate (not valid for Germany)" in html  # kept, not silently changed


def test_italy_offers_its_four_rates_and_the_sdi_fields(signed_in, administration):
    data = form_data(action="refresh", country="IT", buyer_country="", buyer_tax_id_country="PL")
    html = signed_in.post(new_url(administration), data, headers=HTMX).text

    assert 'data-testid="country-data-it"' in html
    assert "S · Standard rate (22 %)" in html and "AC · Super-reduced rate (4 %)" in html
    assert 'name="it_codice_destinatario"' in html and 'name="it_pec_destinatario"' in html
    # An empty buyer country starts as the destination; one already chosen stays.
    assert re.search(r'<select name="buyer_country"[^>]*>.*?<option value="IT" selected>', html, re.S)
    assert re.search(r'<select name="buyer_tax_id_country"[^>]*>.*?<option value="PL" selected>', html, re.S)


def test_a_credit_note_offers_this_administrations_invoices_as_original(
    signed_in, member, outsider, administration, other_administration
):
    mine = make_invoice(administration, member, number="2026-0009")
    make_invoice(administration, member, number="CN-1", document_type="credit_note")
    theirs = make_invoice(other_administration, outsider, number="THEIRS-1")

    html = signed_in.post(
        new_url(administration), form_data(action="refresh", document_type="credit_note"), headers=HTMX
    ).text

    select = html.split('<select name="original_invoice"')[1].split("</select>")[0]
    assert f'value="{mine.pk}"' in select and "2026-0009" in select
    assert "CN-1" not in select  # a note corrects an invoice, not another note
    assert f'value="{theirs.pk}"' not in select and "THEIRS-1" not in select


def test_the_exemption_reason_appears_when_a_line_becomes_exempt(signed_in, administration):
    lines = [line("Corso", "1", "10", "E"), line("Libro", "1", "10", "S", exemption_reason="kept")]

    html = signed_in.post(new_url(administration), form_data(action="refresh-lines", lines=lines), headers=HTMX).text

    assert html.lstrip().startswith('<div id="invoice-lines"')
    assert '<label for="id_lines-0-exemption_reason">' in html
    assert '<label for="id_lines-1-exemption_reason">' not in html
    assert '<input type="hidden" name="lines-1-exemption_reason" value="kept"' in html


def test_find_buyer_answers_only_the_suggestions(signed_in, administration, monkeypatch):
    monkeypatch.setattr(
        buyers,
        "buyer_suggestions",
        lambda **kwargs: [buyers.Suggestion(key="buyer:7", name="Rossi Srl", tax_id="00743110157", city="Milano")],
    )

    html = signed_in.post(new_url(administration), form_data(action="find-buyer", buyer_query="ros"), headers=HTMX).text

    assert html.lstrip().startswith('<ul class="list-group')
    assert 'value="use-buyer:buyer:7"' in html and "Rossi Srl" in html and "Milano" in html


def test_find_buyer_says_when_nothing_matches(signed_in, administration):
    html = signed_in.post(new_url(administration), form_data(action="find-buyer", buyer_query="zzz"), headers=HTMX).text

    assert 'data-testid="no-buyer-found"' in html


def test_use_buyer_answers_the_whole_form_with_the_buyer_filled_in(signed_in, administration, monkeypatch):
    monkeypatch.setattr(
        buyers, "buyer_fields", lambda key, **kwargs: {"buyer": None, "buyer_name": "Rossi Srl", "buyer_city": "Milano"}
    )

    html = signed_in.post(new_url(administration), form_data(action="use-buyer:customer:42"), headers=HTMX).text

    assert html.lstrip().startswith('<form id="invoice-form"')
    assert re.search(r'name="buyer_name" value="Rossi Srl"[^>]*autofocus', html)


def test_save_through_htmx_sends_the_browser_to_the_preview(signed_in, administration):
    response = signed_in.post(new_url(administration), form_data(), headers=HTMX)

    invoice = Invoice.objects.get()
    assert response["HX-Redirect"] == f"/administrations/{administration.company_number}/invoices/{invoice.pk}/"


def test_an_unknown_action_only_refreshes_the_page(signed_in, member, administration):
    invoice = make_invoice(administration, member)

    response = signed_in.post(
        f"/administrations/{administration.company_number}/invoices/{invoice.pk}/edit/",
        edit_data(invoice, action="delete-everything", buyer_name="Changed"),
    )

    assert response.status_code == 200 and 'value="Changed"' in response.text
    invoice.refresh_from_db()
    assert invoice.buyer_name == "Cliente SpA" and invoice.lines.count() == 1
