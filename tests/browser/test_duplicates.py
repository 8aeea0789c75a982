"""A number the tax authority already had, in real Chromium: a client user reads the portal's verdict on the
invoice page and adopts the earlier outcome after confirming it (issue 15)."""

import re

from django.test import override_settings
from playwright.sync_api import expect

from accounts.models import User
from invoicing import submissions
from invoicing.models import BookFiling, DuplicateMatch
from sandbox.clearvo.seed import seed as seed_clearvo
from tests.browser.accessibility import assert_accessible
from tests.browser.clearance import TIME_FACTOR, polish_invoice
from tests.browser.conftest import sign_in_with_clearfacts
from tests.invoicing.duplicate_helpers import answered, reached_then_released
from tests.personas import AN, BAKKERIJ


def test_a_client_adopts_the_earlier_outcome_of_an_invoice_ksef_already_had(page, portal, monkeypatch):
    seed_clearvo()
    sign_in_with_clearfacts(page, portal, AN)
    an = User.objects.get(email=AN)
    invoice = polish_invoice(an)
    monkeypatch.setattr(submissions, "_dispatch", lambda pk, countdown=None: None)  # the test sends, not a worker
    with override_settings(SANDBOX_TIME_FACTOR=TIME_FACTOR):
        first = reached_then_released(invoice, an)
        second = answered(invoice, an)
    assert (second.clearance_status, second.duplicate) == ("REJECTED", DuplicateMatch.SAME)

    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/invoices/{invoice.pk}/")
    expect(page.get_by_test_id("duplicate-number")).to_have_attribute("data-verdict", "same")
    expect(page.get_by_test_id("duplicate-verdict")).to_contain_text("It is the same invoice, already sent")
    expect(page.get_by_test_id("duplicate-earlier-hash")).to_have_text(first.body_sha256[:12] + "…")
    expect(page.get_by_test_id("duplicate-renumber")).to_have_count(0)
    assert_accessible(page, "the invoice page of a number KSeF already had")

    page.get_by_test_id("duplicate-adopt").click()
    expect(page.get_by_test_id("adopt-confirm")).not_to_be_checked()
    page.get_by_test_id("confirm-adopt").click()  # without ticking the box: nothing happens but a word
    expect(page.locator(".invalid-feedback")).to_have_text("Tick the box to confirm, or go back to the invoice.")
    assert_accessible(page, "the confirmation to adopt the earlier outcome")
    invoice.refresh_from_db()
    assert invoice.status == "rejected"

    page.get_by_label(re.compile(f"record of number {invoice.invoice_number} is this invoice")).check()
    page.get_by_test_id("confirm-adopt").click()

    expect(page.get_by_test_id("invoice-status")).to_have_text("Accepted")
    expect(page.get_by_test_id("duplicate-adopted")).to_contain_text("adopted the earlier outcome")
    expect(page.get_by_test_id("duplicate-adopt")).to_have_count(0)
    assert BookFiling.objects.filter(invoice=invoice).count() == 1
    assert page.console_errors == []
