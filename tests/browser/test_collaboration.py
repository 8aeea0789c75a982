"""Two colleagues of Bakkerij Maes work on one invoice in real Chromium, each in their own browser.

An writes it and asks Koen to review it (the administration asks for four eyes); Koen's bell shows the
request without him reloading, he opens it, approves the version he sees and submits it; An, who
never reloads her page, sees the approval arrive in her bell, then the tax authority's acceptance
(the send in the session's real Celery worker, the status checks in the poller, against the sandbox's
Clearvo). An can never approve her own invoice: the page offers her no such button.
"""

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from accounts.models import User
from clearfacts_app.models import Notification
from invoicing.models import Approval, InvoicingProfile, Submission
from sandbox.clearvo.seed import seed as seed_clearvo
from tests.browser.accessibility import assert_accessible
from tests.browser.clearance import TIME_FACTOR, polish_invoice, poll_until_accepted
from tests.browser.conftest import new_page, sign_in_with_clearfacts
from tests.personas import AN, BAKKERIJ, KOEN

BELL_POLL = 15_000  # the bell asks every 10 seconds


@pytest.fixture
def second_page(chromium, portal):
    """Koen's own browser."""
    page = new_page(chromium)
    yield page
    page.context.close()


@pytest.mark.timeout(300)
def test_one_colleague_asks_for_review_the_other_approves_and_submits_and_the_first_sees_it_live(
    page, second_page, portal, live_worker
):
    seed_clearvo()
    sign_in_with_clearfacts(page, portal, AN)
    sign_in_with_clearfacts(second_page, portal, KOEN)
    an, koen = User.objects.get(email=AN), User.objects.get(email=KOEN)
    invoice = polish_invoice(an)
    InvoicingProfile.objects.filter(administration=invoice.administration).update(four_eyes=True)
    invoice_url = f"{portal.url}/administrations/{BAKKERIJ}/invoices/{invoice.pk}/"

    # An: her draft needs a colleague's approval; she may not approve or submit it herself.
    page.goto(invoice_url)
    review = page.get_by_test_id("invoice-review")
    expect(review.get_by_test_id("approval-missing")).to_be_visible()
    expect(page.get_by_test_id("approve-invoice")).to_have_count(0)
    expect(page.get_by_test_id("submit-invoice")).to_have_count(0)
    page.get_by_test_id("reviewer-select").select_option(label=str(koen))
    page.get_by_test_id("request-review").click()
    expect(page.get_by_test_id("review-state")).to_have_text("In review")
    expect(page.get_by_test_id("reviewer")).to_contain_text(str(koen))
    page.evaluate("window.stillTheSamePage = true")  # gone if anything reloads An's page from here on

    # Koen, on his phone, on his dashboard: the request reaches his bell by itself.
    second_page.set_viewport_size({"width": 375, "height": 800})
    second_page.goto(f"{portal.url}/")
    second_page.evaluate("window.stillTheSamePage = true")
    expect(second_page.get_by_test_id("notification-count")).to_have_text("1", timeout=BELL_POLL)
    assert second_page.evaluate("window.stillTheSamePage") is True
    second_page.get_by_test_id("notification-bell").get_by_role("link").click()
    entry = second_page.get_by_test_id("notification").first
    expect(entry).to_contain_text(f"{an} asked you to review invoice {invoice.invoice_number}")
    entry.get_by_role("link").first.click()
    second_page.wait_for_url(f"{invoice_url}*")
    expect(second_page.get_by_test_id("notification-count")).to_have_count(0)  # seen: nothing unread

    # Koen approves the version he sees, then submits it.
    with override_settings(SANDBOX_TIME_FACTOR=TIME_FACTOR):
        second_page.get_by_test_id("approve-invoice").click()
        expect(second_page.get_by_test_id("review-state")).to_have_text("Approved")
        assert Approval.objects.filter(invoice=invoice, invoice_version=invoice.version, approver=koen).exists()
        assert_accessible(second_page, "the approved invoice at 375 px")
        second_page.get_by_test_id("submit-invoice").click()
        expect(second_page.get_by_test_id("attempt")).to_have_count(1)

        # An sees the approval arrive without reloading.
        expect(page.get_by_test_id("notification-count")).to_have_text("1", timeout=BELL_POLL)
        assert page.evaluate("window.stillTheSamePage") is True

        poll_until_accepted(second_page, invoice)
    assert Submission.objects.get(invoice=invoice).submitted_by == koen

    # The authority's acceptance follows in An's bell (the outcome task runs in the worker).
    expect(page.get_by_test_id("notification-count")).to_have_text("2", timeout=BELL_POLL + 15_000)
    assert page.evaluate("window.stillTheSamePage") is True
    page.get_by_test_id("notification-bell").get_by_role("link").click()
    entries = page.get_by_test_id("notification")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text(f"The tax authority accepted invoice {invoice.invoice_number}")
    expect(entries.nth(1)).to_contain_text(f"{koen} approved version 1 of invoice {invoice.invoice_number}")
    assert set(Notification.objects.filter(recipient=an).values_list("kind", flat=True)) == {
        Notification.Kind.INVOICE_APPROVED,
        Notification.Kind.INVOICE_ACCEPTED,
    }
    assert_accessible(page, "An's notifications")
    assert page.console_errors == [] and second_page.console_errors == []
