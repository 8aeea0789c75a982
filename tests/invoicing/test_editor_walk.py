"""What a new user met drafting in nl, fr and en: amounts in the reader's way, labels, errors at once, wording."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings

from invoicing import identifiers
from invoicing.models import Invoice, InvoiceLine
from tests.invoicing.editor_helpers import IBAN, PARTITA_IVA, complete_profile, form_data, make_invoice

HTMX = {"HX-Request": "true"}
NBSP = "\u00a0"


@pytest.fixture
def profile(administration):
    return complete_profile(administration)


def new_url(administration):
    return f"/administrations/{administration.company_number}/invoices/new/"


def edit_url(invoice):
    return f"/administrations/{invoice.administration.company_number}/invoices/{invoice.pk}/edit/"


def detail_url(invoice):
    return f"/administrations/{invoice.administration.company_number}/invoices/{invoice.pk}/"


def signed_in(client, user, language="en"):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def line(quantity="1", unit_price="100", **more):
    return {
        "description": "Taart",
        "quantity": quantity,
        "unit": "EA",
        "unit_price": unit_price,
        "tax_code": "S",
    } | more


# --- amounts as the reader writes them ---


@pytest.mark.parametrize(
    ("language", "typed", "expected"),
    [
        ("nl", "0,95", Decimal("0.95")),
        ("nl", "1.234,5", Decimal("1234.5")),
        ("fr", "0,95", Decimal("0.95")),
        ("fr", "1 234,5", Decimal("1234.5")),
        ("fr", f"1{NBSP}234,5", Decimal("1234.5")),
        ("fr", "1\u202f234,5", Decimal("1234.5")),
        ("en", "0.95", Decimal("0.95")),
        ("en", "1,234.5", Decimal("1234.5")),
    ],
)
def test_quantity_and_unit_price_are_read_the_way_the_pages_language_writes_them(
    client, member, administration, profile, language, typed, expected
):
    signed_in(client, member, language)

    response = client.post(new_url(administration), form_data(lines=[line(quantity=typed, unit_price=typed)]))

    assert response.status_code == 302, response.context["form"].errors or response.context["formset"].errors
    saved = InvoiceLine.objects.get()
    assert (saved.quantity, saved.unit_price) == (expected, expected)


@pytest.mark.parametrize(("language", "typed"), [("nl", "12,34,5"), ("fr", "abc"), ("en", "1.234,5")])
def test_an_amount_that_is_no_number_is_refused_beside_its_field_with_an_example(
    client, member, administration, profile, language, typed
):
    signed_in(client, member, language)

    response = client.post(new_url(administration), form_data(lines=[line(unit_price=typed)]))

    errors = response.context["formset"].forms[0].errors["unit_price"]
    example = {"nl": "1.234,5", "fr": f"1{NBSP}234,5", "en": "1,234.5"}[language]
    assert len(errors) == 1 and example in errors[0]
    assert not Invoice.objects.exists()


def test_the_edit_page_writes_the_amounts_in_the_pages_language(client, member, administration, profile):
    invoice = make_invoice(administration, member)
    invoice.lines.update(quantity=Decimal("1234.5"), unit_price=Decimal("0.95"))

    dutch = signed_in(client, member, "nl").get(edit_url(invoice)).text
    english = signed_in(client, member, "en").get(edit_url(invoice)).text

    assert re.search(r'<input type="text" name="lines-0-unit_price" value="0,95"[^>]*inputmode="decimal"', dutch)
    assert 'name="lines-0-quantity" value="1234,5"' in dutch
    assert 'name="lines-0-unit_price" value="0.95"' in english and 'name="lines-0-quantity" value="1234.5"' in english


def test_live_totals_read_a_comma_as_saving_does(client, member, administration, profile):
    signed_in(client, member, "nl")
    data = form_data(action="recalculate", lines=[line(quantity="2", unit_price="0,95")])

    html = client.post(new_url(administration), data, headers=HTMX).text

    assert '<span id="line-total-0" hx-swap-oob="innerHTML">1,90</span>' in html
    assert '<span data-testid="total-gross">2,32</span> EUR' in html  # 1.90 + 22 % (0.418 → 0.42)


def test_a_line_added_starts_with_the_unit_ea_like_the_first(client, member, administration, profile):
    signed_in(client, member)
    data = form_data(action="add-line", lines=[line(unit="HUR")])

    html = client.post(new_url(administration), data, headers=HTMX).text

    assert re.search(r'name="lines-1-unit" value="EA"', html)
    assert re.search(r'name="lines-0-unit" value="HUR"', html)


# --- every problem at once ---


def test_a_field_that_does_not_clean_leaves_the_rules_problems_of_the_others_on_the_page(
    client, member, administration, profile
):
    """A bad PEC address (Django's own check) used to hide the rules' problems until it was fixed."""
    signed_in(client, member)
    data = form_data(
        it_pec_destinatario="not an address",
        buyer_tax_id="IT 01234567890",  # the check digit of a Partita IVA is wrong
        lines=[line(unit_price="-5"), line(quantity="two")],
    )

    response = client.post(new_url(administration), data)

    form, lines = response.context["form"], response.context["formset"].forms
    assert "Partita IVA" in form.errors["buyer_tax_id"][0]
    assert len(form.errors["it_pec_destinatario"]) == 1  # its own error, not a second one from the rules
    assert "zero or more" in lines[0].errors["unit_price"][0]
    assert lines[1].errors["quantity"] == ["Enter a number, such as 1,234.5."]
    assert 'data-testid="error-summary"' in response.text and not Invoice.objects.exists()


def test_the_draft_still_saves_once_everything_is_corrected(client, member, administration, profile):
    signed_in(client, member)
    client.post(new_url(administration), form_data(it_pec_destinatario="not an address", buyer_tax_id="IT 1"))

    response = client.post(new_url(administration), form_data())

    assert response.status_code == 302 and Invoice.objects.get().buyer_tax_id == PARTITA_IVA


# --- labels, names and punctuation in the reader's language ---


def test_labels_shown_alone_begin_with_a_capital_in_every_language(client, member, administration, profile):
    invoice = make_invoice(administration, member, it_pec_destinatario="fatture@pec.it")
    dutch = signed_in(client, member, "nl").get(new_url(administration)).text
    french = signed_in(client, member, "fr").get(detail_url(invoice)).text

    assert '<label for="id_buyer_tax_id">Btw- of fiscaal nummer</label>' in dutch
    assert "Numéro de TVA ou fiscal IT" in french and ">Adresse PEC</dt>" in french

    summary = signed_in(client, member, "nl").post(new_url(administration), form_data(buyer_tax_id="IT 1")).text
    assert "Btw- of fiscaal nummer: " in summary


def test_french_puts_a_no_break_space_before_the_colon_of_a_label(client, member, administration, profile):
    signed_in(client, member, "fr")

    html = client.post(new_url(administration), form_data(lines=[line(unit_price="-5")])).text

    assert f"Ligne 1, Prix unitaire{NBSP}: " in html
    assert f"Prix unitaire{NBSP}: " not in html.replace(f"Ligne 1, Prix unitaire{NBSP}: ", "")


@pytest.mark.parametrize(
    ("language", "belgium", "france"),
    [
        ("en", "company number", "French VAT number"),
        ("nl", "ondernemingsnummer", "Frans btw-nummer"),
        ("fr", "numéro d'entreprise", "numéro de TVA"),
    ],
)
def test_a_tax_id_is_named_in_the_readers_language_or_by_its_national_name(language, belgium, france, settings):
    from django.utils import translation

    with translation.override(language):
        assert belgium in identifiers.tax_id_problem("0403170702", "BE")
        assert france in identifiers.tax_id_problem("12345678901", "FR")
        assert "Partita IVA" in identifiers.tax_id_problem("01234567890", "IT")
        assert "ondernemingsnummer / " not in identifiers.tax_id_problem("0403170702", "BE")


def test_a_kept_tax_code_that_does_not_apply_names_the_country(client, member, administration, profile):
    data = form_data(action="refresh", country="PL", lines=[line(tax_code="AC")])

    english = signed_in(client, member, "en").post(new_url(administration), data, headers=HTMX).text
    dutch = signed_in(client, member, "nl").post(new_url(administration), data, headers=HTMX).text

    assert "AC · Super-reduced rate (not valid for Poland)" in english
    assert "(niet geldig voor Polen)" in dutch


def test_the_original_invoice_select_shows_the_issue_date_in_the_readers_format(
    client, member, administration, profile
):
    make_invoice(administration, member, number="2026-0007", issue_date=date(2026, 11, 29))

    english = signed_in(client, member, "en").get(new_url(administration) + "?type=credit_note").text
    dutch = signed_in(client, member, "nl").get(new_url(administration) + "?type=credit_note").text

    assert "2026-0007 · Cliente SpA · 29/11/2026</option>" in english
    assert "2026-0007 · Cliente SpA · 29-11-2026</option>" in dutch
    assert "2026-11-29" not in english.split('name="original_invoice"')[1].split("</select>")[0]


# --- one way of writing the same number ---


def test_the_company_number_the_iban_and_the_vat_rate_are_written_the_usual_way(
    client, member, administration, profile
):
    invoice = make_invoice(administration, member, supplier_tax_id=profile.tax_id, supplier_tax_id_country="BE")
    invoice.iban = IBAN
    invoice.save()
    InvoiceLine.objects.create(
        invoice=invoice, position=2, description="Pane", quantity=Decimal("1"), unit_price=Decimal("5"), tax_code="AB"
    )
    company_number = f"BE {administration.formatted_company_number}"

    preview = signed_in(client, member, "nl").get(detail_url(invoice)).text
    editor = client.get(edit_url(invoice)).text

    assert f"Btw {company_number}" in preview
    assert "BE71 0961 2345 6769" in preview
    assert re.findall(r'data-testid="preview-line-vat">([^<]*)<', preview) == [f"S · 22{NBSP}%", f"AB · 5{NBSP}%"]
    assert f" · {company_number}" in editor


def test_on_a_phone_each_preview_line_reads_as_one_sentence(client, member, administration, profile):
    invoice = make_invoice(administration, member)
    invoice.lines.update(quantity=Decimal("2.5"), unit_price=Decimal("1234.5"))

    french = signed_in(client, member, "fr").get(detail_url(invoice)).text

    stacked = re.search(r'data-testid="preview-line-stacked">([^<]*)<', french)[1]
    assert stacked == f"2,5 EA × 1{NBSP}234,50 = 3{NBSP}086,25, TVA S · 22{NBSP}%"


# --- an invoice before the profile is complete ---


def test_a_member_is_told_to_ask_a_manager_and_may_still_read_the_profile(client, member, owner, administration):
    profile_url = f"/administrations/{administration.company_number}/invoicing/profile/"

    as_member = signed_in(client, member).get(new_url(administration)).text
    as_owner = signed_in(client, owner).get(new_url(administration)).text
    profile_page = signed_in(client, member).get(profile_url).text

    ask = "Ask a manager of this administration to complete the invoicing profile"
    assert ask in as_member and "Complete the invoicing profile</a>" not in as_member
    assert f'href="{profile_url}"' in as_member
    assert ask in profile_page
    assert "Complete the invoicing profile</a>" in as_owner and ask not in as_owner
    # The two pages say the same about a profile never saved.
    unsaved = "The profile has not been saved yet: check what the portal filled in, then save it."
    assert unsaved in as_member and unsaved in profile_page


def test_dutch_calls_a_draft_ontwerp_everywhere(client, member, administration, profile):
    po = (settings.BASE_DIR / "locale" / "nl" / "LC_MESSAGES" / "django.po").read_text()
    translations = re.findall(r'^msgstr ((?:".*"\n)+)', po, flags=re.M)

    assert [text for text in translations if "oncept" in text] == []
    assert ">Ontwerp bewaren</button>" in signed_in(client, member, "nl").get(new_url(administration)).text
