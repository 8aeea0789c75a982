"""The bell: a notification arrives on an open page without reloading it, the page of notifications
reads well at a phone's width and a desktop's, and opening one counts it as read."""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from clearfacts_app.models import Administration, Document, Notification
from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import sign_in_with_clearfacts
from tests.browser.test_layout import LONG_NAME, scrolls_sideways
from tests.personas import BAKKERIJ, SOFIE

Kind = Notification.Kind


@pytest.mark.timeout(300)
def test_a_notification_arrives_without_reloading_and_reads_well(page, portal):
    sign_in_with_clearfacts(page, portal, SOFIE)
    sofie = User.objects.get(email=SOFIE)
    maes = Administration.objects.get(company_number=BAKKERIJ, office=sofie.office)
    page.goto(f"{portal.url}/")
    expect(page.get_by_test_id("notification-bell")).to_contain_text("Notifications: none unread")
    page.evaluate("window.notReloaded = true")

    Notification.objects.create(
        recipient=sofie,
        administration=maes,
        kind=Kind.DOCUMENT_PROBLEM,
        key="document:1:held",
        data={"document": 1, "filename": LONG_NAME, "status": Document.Status.HELD},
        url=f"/administrations/{BAKKERIJ}/documents/",
    )
    Notification.objects.create(
        recipient=sofie,
        administration=maes,
        kind=Kind.REVIEW_ASSIGNED,
        key="invoice:1:v1",
        data={"invoice": 1, "number": "2026-0042"},
        url="/invoices/",
    )

    count = page.get_by_test_id("notification-count")
    expect(count).to_have_text("2", timeout=15_000)  # the bell polls every 10 seconds
    assert page.evaluate("window.notReloaded") is True
    expect(page.get_by_test_id("notification-bell")).to_contain_text("2 unread notifications")

    problems = []
    for width in (375, 1024):
        Notification.objects.filter(recipient=sofie).update(read_at=None)
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{portal.url}/notifications/")
        expect(page.get_by_test_id("notification")).to_have_count(2)
        if scrolls_sideways(page):
            problems.append(f"{width}px: scrolls sideways")
        if violations := axe_violations(page):
            problems.append(f"{width}px: axe-core found\n{describe(violations)}")
    assert not problems, "\n".join(problems)

    Notification.objects.filter(recipient=sofie).update(read_at=None)
    page.goto(f"{portal.url}/")
    expect(count).to_have_text("2")
    page.get_by_test_id("notification-bell").get_by_role("link").click()
    page.get_by_role("link", name="asked you to review invoice 2026-0042").click()
    page.wait_for_url(f"{portal.url}/invoices/")
    expect(page.get_by_test_id("notification-count")).to_have_count(0)  # the page marked both read
