import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in_with_clearfacts
from tests.personas import MARC, SOFIE


def test_after_signing_out_the_next_sign_in_may_be_another_demo_user(page, portal):
    sign_in_with_clearfacts(page, portal, SOFIE)
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/sign-in/$"))

    sign_in_with_clearfacts(page, portal, MARC)

    expect(page.get_by_test_id("user-menu")).to_contain_text("Fiduciaire Lambert SRL")
    assert page.console_errors == []
