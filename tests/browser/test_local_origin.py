import pytest
from playwright.sync_api import expect

from sandbox.clearfacts.seed import DEMO_PASSWORD
from tests.portal.test_local_origin import both_callbacks_registered  # noqa: F401 (a fixture)


@pytest.mark.usefixtures("both_callbacks_registered")
def test_signing_in_from_the_127_0_0_1_address_runserver_prints_completes(page, portal):
    page.goto(portal.url.replace("localhost", "127.0.0.1") + "/")

    page.get_by_test_id("sign-in-with-clearfacts").click()
    page.get_by_label("Username").fill("an.maes@bakkerij-maes.be")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Allow").click()

    expect(page).to_have_url(f"{portal.url}/")
    expect(page.get_by_test_id("user-menu")).to_be_visible()
    assert page.console_errors == [], "no errors and no Content-Security-Policy violations"
