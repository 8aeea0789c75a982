"""Drafting an Italian invoice in real Chromium: totals while typing, saved, and reopened unchanged."""

import re
from decimal import Decimal

from django.conf import settings
from playwright.sync_api import expect

from accounts.models import User
from clearfacts_app.models import Administration
from invoicing.models import Invoice
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import sign_in_with_clearfacts
from tests.browser.test_layout import fits_its_container
from tests.factories import make_invoice
from tests.invoicing.editor_helpers import PARTITA_IVA, complete_profile
from tests.personas import AN, BAKKERIJ, SOFIE


def save(page) -> None:
    """Clicks save once the totals' requests are answered: leaving the page would abort one (as for
    a user, harmlessly; htmx logs the abort as a console error, which the tests count)."""
    page.wait_for_function("!document.querySelector('.htmx-request')")
    page.get_by_test_id("save").click()


def test_an_italian_invoice_with_two_lines_shows_totals_while_typing_and_reopens_unchanged(page, portal):
    sign_in_with_clearfacts(page, portal, AN)
    complete_profile(Administration.objects.get(company_number=BAKKERIJ))
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/invoices/new/")

    # Italy: the SDI fields and Italy's rates appear in place (HTMX), without a reload.
    page.get_by_label("Destination country").select_option("IT")
    expect(page.get_by_test_id("country-data-it")).to_be_visible()
    expect(page.locator("#id_lines-0-tax_code option")).to_have_count(10)  # S, AA, AB, AC and the zero codes
    page.get_by_label("Invoice number").fill("IT-2026-7")
    page.get_by_label("Issue date").fill("2026-03-02")
    page.get_by_label("Name", exact=True).fill("Cliente SpA")
    page.get_by_label("VAT or tax number").fill(f"IT {PARTITA_IVA}")
    page.get_by_label("Country of that number").select_option("IT")
    page.get_by_label("Street and number").fill("Via Veneto 10")
    page.get_by_label("Postal code").fill("00187")
    page.get_by_label("City").fill("Roma")
    page.get_by_label("Country", exact=True).select_option("IT")
    page.get_by_label("Codice destinatario").fill("ABC1234")

    # The first line, typed key by key: the amounts follow, and the field keeps focus and text.
    gross = page.get_by_test_id("total-gross")
    page.locator("#id_lines-0-description").fill("Software licence Q1")
    page.locator("#id_lines-0-quantity").press_sequentially("2", delay=50)
    page.locator("#id_lines-0-unit_price").press_sequentially("500.25", delay=80)
    expect(page.locator("#line-total-0")).to_have_text("1,000.50")
    expect(gross).to_have_text("1,220.61")  # VAT 22 %: 220.11
    expect(page.locator("#id_lines-0-unit_price")).to_be_focused()
    expect(page.locator("#id_lines-0-unit_price")).to_have_value("500.25")

    # A second line at the reduced rate, added with the keyboard.
    page.get_by_test_id("add-line").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#id_lines-1-description")).to_be_focused()
    page.keyboard.type("Support hours")
    page.keyboard.press("Tab")
    page.keyboard.type("8", delay=50)
    page.locator("#id_lines-1-unit").fill("HUR")
    page.locator("#id_lines-1-unit_price").press_sequentially("125", delay=50)
    page.locator("#id_lines-1-tax_code").select_option("AA")
    expect(page.locator("#line-total-1")).to_have_text("1,000.00")
    expect(gross).to_have_text("2,320.61")  # + 1000.00 and 10 % VAT
    assert not Invoice.objects.exists()  # all of it before saving
    assert_accessible(page, "the invoice editor")

    save(page)
    expect(page.get_by_test_id("invoice-preview")).to_be_visible()
    expect(page.get_by_test_id("total-gross")).to_have_text("2,320.61")
    invoice = Invoice.objects.get()
    assert invoice.buyer_tax_id == PARTITA_IVA
    assert [(line.quantity, line.unit_price, line.tax_code) for line in invoice.lines.all()] == [
        (Decimal("2"), Decimal("500.25"), "S"),
        (Decimal("8"), Decimal("125"), "AA"),
    ]
    assert_accessible(page, "the invoice preview")

    page.get_by_test_id("edit-invoice").click()
    expected = {
        "#id_document_type": "invoice",
        "#id_country": "IT",
        "#id_currency": "EUR",
        "#id_invoice_number": "IT-2026-7",
        "#id_issue_date": "2026-03-02",
        "#id_due_date": "2026-04-01",  # 30 days of payment terms, filled in when saved
        "#id_buyer_name": "Cliente SpA",
        "#id_buyer_tax_id": PARTITA_IVA,
        "#id_buyer_tax_id_country": "IT",
        "#id_buyer_street": "Via Veneto 10",
        "#id_buyer_postal_code": "00187",
        "#id_buyer_city": "Roma",
        "#id_buyer_country": "IT",
        "#id_it_codice_destinatario": "ABC1234",
        "#id_lines-0-description": "Software licence Q1",
        "#id_lines-0-quantity": "2",
        "#id_lines-0-unit": "EA",
        "#id_lines-0-unit_price": "500.25",
        "#id_lines-0-tax_code": "S",
        "#id_lines-1-description": "Support hours",
        "#id_lines-1-quantity": "8",
        "#id_lines-1-unit": "HUR",
        "#id_lines-1-unit_price": "125",
        "#id_lines-1-tax_code": "AA",
    }
    for selector, value in expected.items():
        expect(page.locator(selector)).to_have_value(value)
    expect(page.get_by_test_id("invoice-line")).to_have_count(2)
    expect(gross).to_have_text("2,320.61")

    # A credit note made from it: the same lines, referring to the invoice, saved as a draft of its own.
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/invoices/{invoice.pk}/")
    page.get_by_test_id("credit-note-invoice").click()
    expect(page.locator("#id_document_type")).to_have_value("credit_note")
    expect(page.locator("#id_original_invoice")).to_have_value(str(invoice.pk))
    expect(page.get_by_test_id("invoice-line")).to_have_count(2)
    expect(gross).to_have_text("2,320.61")
    page.locator("#id_lines-1-quantity").fill("4")  # credit half of the support hours
    expect(gross).to_have_text("1,770.61")  # 1,220.61 + 500.00 and 10 % VAT
    save(page)
    expect(page.get_by_test_id("original-invoice")).to_contain_text("IT-2026-7")
    note = Invoice.objects.get(document_type=Invoice.DocumentType.CREDIT_NOTE)
    assert note.original_invoice == invoice and note.invoice_number != invoice.invoice_number
    assert [line.quantity for line in note.lines.all()] == [Decimal("2"), Decimal("4")]
    assert page.console_errors == []


def test_without_javascript_the_buttons_post_the_whole_page_and_the_draft_saves(chromium, portal):
    context = chromium.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in_with_clearfacts(page, portal, AN, language=None)
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": portal.url}])
    complete_profile(Administration.objects.get(company_number=BAKKERIJ))
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/invoices/new/")

    page.get_by_label("Destination country").select_option("DE")
    page.get_by_role("button", name="Update the form for this type and country").click()
    expect(page.get_by_test_id("country-data-de")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Kunde GmbH")
    page.get_by_label("VAT or tax number").fill("DE136695976")
    page.get_by_label("City").fill("Berlin")
    page.locator("#id_lines-0-description").fill("Beratung")
    page.locator("#id_lines-0-quantity").fill("2")
    page.locator("#id_lines-0-unit_price").fill("100")
    page.get_by_test_id("add-line").click()
    expect(page.get_by_test_id("invoice-line")).to_have_count(2)
    expect(page.locator("#line-total-0")).to_have_text("200.00")  # the server's figures, page by page
    page.locator("#id_lines-1-description").fill("Reise")
    page.locator("#id_lines-1-quantity").fill("1")
    page.locator("#id_lines-1-unit_price").fill("50")
    page.locator("#id_lines-1-tax_code").select_option("AA")
    save(page)

    expect(page.get_by_test_id("total-gross")).to_have_text("291.50")  # 238.00 + 53.50
    invoice = Invoice.objects.get()
    assert (invoice.country, invoice.buyer_country, invoice.lines.count()) == ("DE", "DE", 2)
    context.close()


def test_in_dutch_a_comma_is_the_decimal_separator_while_typing_and_when_saved(page, portal):
    """A number input reads "0,95" in the browser's language (here en-GB) and dropped the comma: 95."""
    sign_in_with_clearfacts(page, portal, AN, language="nl")
    complete_profile(Administration.objects.get(company_number=BAKKERIJ))
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/invoices/new/")

    page.locator("#id_country").select_option("IT")
    expect(page.get_by_test_id("country-data-it")).to_be_visible()
    page.locator("#id_buyer_name").fill("Cliente SpA")
    page.locator("#id_buyer_tax_id").fill(f"IT{PARTITA_IVA}")
    page.locator("#id_buyer_city").fill("Roma")
    page.locator("#id_buyer_country").select_option("IT")
    page.locator("#id_lines-0-description").fill("Croissants")
    page.locator("#id_lines-0-quantity").press_sequentially("1.000", delay=50)
    page.locator("#id_lines-0-unit_price").press_sequentially("0,95", delay=80)
    expect(page.locator("#line-total-0")).to_have_text("950,00")
    expect(page.get_by_test_id("total-gross")).to_have_text("1.159,00")  # 22 % btw: 209,00
    expect(page.locator("#id_lines-0-unit_price")).to_have_value("0,95")

    save(page)
    expect(page.get_by_test_id("total-gross")).to_have_text("1.159,00")
    line = Invoice.objects.get().lines.get()
    assert (line.quantity, line.unit_price) == (Decimal("1000"), Decimal("0.95"))
    page.get_by_test_id("edit-invoice").click()
    expect(page.locator("#id_lines-0-unit_price")).to_have_value("0,95")
    expect(page.locator("#id_lines-0-quantity")).to_have_value("1000")
    assert page.console_errors == []


def test_a_line_fields_message_wraps_normally_on_a_laptop(page, portal):
    sign_in_with_clearfacts(page, portal, AN)
    complete_profile(Administration.objects.get(company_number=BAKKERIJ))
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/invoices/new/")

    page.locator("#id_country").select_option("IT")
    expect(page.get_by_test_id("country-data-it")).to_be_visible()
    page.locator("#id_buyer_name").fill("Cliente SpA")
    page.locator("#id_buyer_tax_id").fill(f"IT{PARTITA_IVA}")
    page.locator("#id_buyer_city").fill("Roma")
    page.locator("#id_buyer_country").select_option("IT")
    page.locator("#id_lines-0-description").fill("Croissants")
    page.locator("#id_lines-0-quantity").fill("0")
    page.locator("#id_lines-0-unit_price").fill("0.85")
    save(page)

    error = page.locator('[data-field-error="lines-0-quantity"]')
    expect(error).to_contain_text("Enter a quantity above zero")
    box = error.bounding_box()
    assert box["width"] >= 120, f"the quantity's message is {box['width']:.0f} px wide"
    assert box["height"] <= 5 * 24, "the message wraps word by word"


def test_on_a_phone_the_lists_and_the_preview_show_their_essentials_without_scrolling_sideways(page, portal):
    sign_in_with_clearfacts(page, portal, SOFIE)
    user = User.objects.get(email=SOFIE)
    maes = Administration.objects.get(company_number=BAKKERIJ, office=user.office)
    invoice = make_invoice(
        maes,
        user,
        invoice_number="BM-2026-0033",
        buyer_name="Rossi Forniture e Servizi Industriali Società per Azioni",
        lines=((Decimal("1000"), Decimal("1.25"), "S"), (Decimal("2.5"), Decimal("1234.567"), "AC")),
    )
    make_invoice(maes, user, invoice_number="BM-2026-0034", document_type="credit_note", original_invoice=invoice)
    make_invoice(maes, user, invoice_number="BM-2026-0035", status=Invoice.Status.ACCEPTED)
    # A long number (the sandbox's scenario suffixes make such) wraps instead of widening the table.
    make_invoice(maes, user, invoice_number="BM-2026-0036-KSEF-DUPLICATE")
    tables = {
        f"{portal.url}/invoices/": '[data-testid="invoices"]',
        f"{portal.url}/administrations/{BAKKERIJ}/invoices/": '[data-testid="invoices"]',
        f"{portal.url}/administrations/{BAKKERIJ}/invoices/{invoice.pk}/": '[data-testid="preview-lines"]',
    }

    problems = []
    for language in ("en", "nl", "fr"):
        page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": portal.url}])
        for width in (375, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            for url, table in tables.items():
                page.goto(url)
                if not fits_its_container(page, table):
                    problems.append(f"{language} {width}px {url}: the table scrolls inside its box")
                if width == 375 and "preview" not in table:
                    row = page.get_by_test_id("invoice-row").filter(has_text="BM-2026-0033")
                    row.scroll_into_view_if_needed()
                    expect(row.get_by_test_id("invoice-total")).to_be_in_viewport()
                    expect(row.get_by_text("Rossi Forniture e Servizi").locator("visible=true")).to_have_count(1)
                    expect(row.locator(".invoice-status").locator("visible=true")).to_have_count(1)
                    expect(row.get_by_test_id("invoice-delete")).to_be_in_viewport()
            if width == 375:
                expect(page.get_by_test_id("preview-line-stacked").first).to_be_visible()
                gross = page.get_by_test_id("totals").locator("dd").last
                assert gross.bounding_box()["height"] < 30, "the total and its currency share one line"
    assert not problems, "\n".join(problems)


def test_the_rows_duplicate_and_credit_note_buttons_open_the_new_draft(page, portal):
    """The row's buttons share the list's one form (and its CSRF token): each posts to its own row."""
    sign_in_with_clearfacts(page, portal, SOFIE)
    user = User.objects.get(email=SOFIE)
    maes = Administration.objects.get(company_number=BAKKERIJ, office=user.office)
    complete_profile(maes)
    make_invoice(maes, user, invoice_number="BM-2026-0040", status=Invoice.Status.ACCEPTED)
    accepted = make_invoice(maes, user, invoice_number="BM-2026-0041", status=Invoice.Status.ACCEPTED)
    tab = f"{portal.url}/administrations/{BAKKERIJ}/invoices/"

    page.goto(tab)
    page.get_by_test_id("invoice-row").filter(has_text="BM-2026-0041").get_by_test_id("invoice-credit-note").click()

    expect(page).to_have_url(re.compile(r"/invoices/\d+/edit/$"))
    note = Invoice.objects.get(original_invoice=accepted)
    assert note.document_type == Invoice.DocumentType.CREDIT_NOTE and note.status == Invoice.Status.DRAFT
    assert page.url.endswith(f"/invoices/{note.pk}/edit/")

    page.goto(tab)
    page.get_by_test_id("invoice-row").filter(has_text="BM-2026-0040").get_by_test_id("invoice-duplicate").click()

    expect(page).to_have_url(re.compile(r"/invoices/\d+/edit/$"))
    copy = Invoice.objects.filter(administration=maes).latest("pk")
    assert copy.pk > note.pk and copy.status == Invoice.Status.DRAFT
    assert page.url.endswith(f"/invoices/{copy.pk}/edit/")
