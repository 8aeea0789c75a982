"""What follows a page's HTMX changes: the language menu returns to the page as it is when used (not
as it was drawn), and on a phone the status badge read under an invoice's number follows its status."""

from playwright.sync_api import expect

from clearfacts_app.models import Administration
from invoicing.models import Invoice
from tests.browser.conftest import signed_in_directly
from tests.factories import make_invoice
from tests.invoicing.clearance_helpers import State, make_submission
from tests.personas import BAKKERIJ, SOFIE


def test_the_language_menu_keeps_a_filter_chosen_after_the_page_was_drawn(page, portal):
    signed_in_directly(page, portal, SOFIE)
    page.goto(f"{portal.url}/invoices/?status=accepted")
    page.locator("#id_status").select_option("draft")  # HTMX redraws the rows and pushes ?status=draft
    page.wait_for_url("**status=draft**")

    page.get_by_test_id("language-menu").click()
    page.locator('button[name="language"][value="nl"]').click()
    page.wait_for_url("**status=draft**")
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.locator("#id_status").input_value() == "draft"
    assert page.console_errors == []


def test_on_a_phone_the_badge_under_the_number_follows_the_status(page, portal):
    """The status column is hidden on a phone; the badge read there changes without a reload."""
    user = signed_in_directly(page, portal, SOFIE)
    administration = Administration.objects.get(company_number=BAKKERIJ)
    invoice = make_invoice(administration, user, invoice_number="PHONE-1", status=Invoice.Status.SUBMITTING)
    make_submission(invoice, user, state=State.QUEUED)
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/invoices/")
    phone_badge = page.locator(f"#invoice-status-phone-{invoice.pk}")
    assert phone_badge.is_visible() and phone_badge.inner_text() == "Queued"

    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.ACCEPTED)
    expect(phone_badge).to_have_text("Accepted", timeout=10_000)  # the row asks every 2 s while it is sent
    assert page.console_errors == []
