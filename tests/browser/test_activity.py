"""The activity feed updates itself: a row written while the page is open appears on top without a reload."""

from django.db import transaction
from playwright.sync_api import expect

from accounts.models import User
from clearfacts_app.activity import activity_record
from clearfacts_app.models import Administration
from tests.browser.conftest import sign_in_with_clearfacts
from tests.personas import AN, BAKKERIJ


def test_a_new_row_appears_on_top_of_the_open_feed_and_office_rows_never_reach_a_client_user(page, portal):
    sign_in_with_clearfacts(page, portal, AN)
    an = User.objects.get(email=AN)
    maes = Administration.objects.get(company_number=BAKKERIJ, office=an.office)
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/activity/")
    expect(page.get_by_test_id("activity-feed")).to_be_visible()

    with transaction.atomic():
        activity_record(
            office=maes.office, administration=None, actor=None, action="clearvo_account.changed", data={"mode": "test"}
        )
        activity_record(
            administration=maes,
            actor=None,
            action="document.status_changed",
            data={"document": 1, "filename": "nieuw-0099.pdf", "status": "sent", "reason": ""},
        )

    newest = page.get_by_test_id("activity-row").first
    expect(newest).to_contain_text("Clearfacts received nieuw-0099.pdf", timeout=25_000)
    expect(page.locator("#activity-poll")).to_have_count(1)
    expect(page.get_by_test_id("no-activity")).to_be_hidden()
    expect(page.get_by_text("Clearvo API key")).to_have_count(0)
    page.goto(f"{portal.url}/activity/")
    expect(page.get_by_test_id("activity-row").first).to_contain_text("nieuw-0099.pdf")
    expect(page.get_by_text("Clearvo API key")).to_have_count(0)
    assert page.console_errors == []
