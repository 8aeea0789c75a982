"""Submitting a Polish invoice in real Chromium and watching its timeline reach ACCEPTED without reloading.

The first test is the whole story: the send runs in a real Celery worker (the session's `live_worker`),
the status checks in the poller (invoicing.polling.submissions_poll_due, called here as its periodic
task would call it), both against the sandbox's Clearvo on the live server, played 60 times faster than
KSeF's pace. The second plays the worker's and the poller's part by writing their rows, to check the
page alone: it follows each stored state within two seconds and stops asking once the end is known.
"""

import re

from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from invoicing.models import ClearanceEvent, Invoice, Submission
from sandbox.clearvo.seed import seed as seed_clearvo
from tests.browser.accessibility import assert_accessible
from tests.browser.clearance import TIME_FACTOR, polish_invoice, poll_until_accepted
from tests.browser.conftest import sign_in_with_clearfacts
from tests.invoicing.clearance_helpers import fake_outbox
from tests.personas import AN, BAKKERIJ


def test_a_member_submits_a_polish_invoice_and_watches_the_timeline_reach_accepted(page, portal, live_worker):
    seed_clearvo()
    sign_in_with_clearfacts(page, portal, AN)
    invoice = polish_invoice(User.objects.get(email=AN))
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/invoices/{invoice.pk}/")
    expect(page.get_by_test_id("clearvo-mode").first).to_have_text("TEST")  # the platform's sandbox key
    expect(page.get_by_test_id("not-submitted")).to_be_visible()

    with override_settings(SANDBOX_TIME_FACTOR=TIME_FACTOR):
        page.get_by_test_id("submit-invoice").click()
        expect(page.get_by_test_id("attempt")).to_have_count(1)
        page.evaluate("window.stillTheSamePage = true")  # gone if anything reloads the page from here on
        timeline = page.get_by_test_id("timeline")
        status = page.get_by_test_id("clearance-status")

        # The worker sends it; the page shows PENDING by itself (or already ACCEPTED, should a poll be that quick).
        expect(status).to_have_text(re.compile("Pending|Accepted"), timeout=30_000)
        expect(page.get_by_test_id("attempt-state")).not_to_contain_text("Waiting to be sent")

        # The poller asks KSeF's answer; the page shows it within two seconds of it being stored.
        poll_until_accepted(page, invoice)
        expect(status).to_have_text("Accepted", timeout=2_000)

    expect(page.get_by_test_id("ksef-number")).to_have_text(
        Submission.objects.get(invoice=invoice).events.last().extra["kSeFNumber"]
    )
    expect(page.get_by_test_id("event")).to_have_count(2)  # ACCEPTED, then PENDING below it
    expect(page.get_by_test_id("event").first).to_have_attribute("data-status", "ACCEPTED")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Accepted")
    expect(timeline).to_have_attribute("data-settled", "true")
    assert page.evaluate("window.stillTheSamePage") is True

    # Terminal: the timeline stopped asking (HTTP 286).
    asked = []
    page.on("request", lambda request: "/timeline/" in request.url and asked.append(request.url))
    page.wait_for_timeout(2_500)
    assert asked == []
    assert_accessible(page, "the invoice page with its timeline")
    assert page.console_errors == []


def test_the_timeline_shows_each_state_the_worker_and_the_poller_store_without_reloading(page, portal, monkeypatch):
    fake_outbox(monkeypatch)  # the submit service, as its contract says; the send and the polls are written below
    sign_in_with_clearfacts(page, portal, AN)
    invoice = polish_invoice(User.objects.get(email=AN))
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/invoices/{invoice.pk}/")

    page.get_by_test_id("submit-invoice").click()
    expect(page.get_by_test_id("attempt-state")).to_contain_text("Waiting to be sent to Clearvo")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Submitting")
    page.evaluate("window.stillTheSamePage = true")
    submission = Submission.objects.get(invoice=invoice)
    sent = Submission.objects.filter(pk=submission.pk)

    # A first try found Clearvo unavailable: the page says it is retrying, and why.
    sent.update(state=Submission.State.RETRYING, attempts=1, reason_code="unavailable")
    expect(page.get_by_test_id("retrying")).to_contain_text("1 attempt so far", timeout=2_000)

    # The second went through: PENDING.
    now = timezone.now()
    sent.update(
        state=Submission.State.SENT,
        attempts=2,
        reason_code="",
        reference_id="PL-20260115-0001",
        clearance_status="PENDING",
        submitted_at=now,
        next_poll_at=now + timezone.timedelta(seconds=60),
    )
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PENDING)
    ClearanceEvent.objects.create(submission=submission, status="PENDING", at=now, message="Submitted to KSeF as FA(3)")
    expect(page.get_by_test_id("clearance-status")).to_have_text("Pending", timeout=2_000)
    expect(page.get_by_test_id("invoice-status")).to_have_text("Pending")
    expect(page.get_by_test_id("next-check")).to_be_visible()

    # The poller stores KSeF's acceptance.
    sent.update(clearance_status="ACCEPTED", terminal=True, cleared_at=now, next_poll_at=None)
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.ACCEPTED)
    ClearanceEvent.objects.create(
        submission=submission, status="ACCEPTED", at=now, message="Accepted by KSeF", extra={"kSeFNumber": "K-1"}
    )
    expect(page.get_by_test_id("clearance-status")).to_have_text("Accepted", timeout=2_000)
    expect(page.get_by_test_id("invoice-status")).to_have_text("Accepted")
    expect(page.get_by_test_id("ksef-number")).to_have_text("K-1")
    expect(page.get_by_test_id("timeline")).to_have_attribute("data-settled", "true")
    assert page.evaluate("window.stillTheSamePage") is True

    asked = []
    page.on("request", lambda request: "/timeline/" in request.url and asked.append(request.url))
    page.wait_for_timeout(2_500)
    assert asked == []  # HTTP 286 stopped the polling
    assert_accessible(page, "the invoice page with its timeline")
    assert page.console_errors == []
