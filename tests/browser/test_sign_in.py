import re

from playwright.sync_api import expect

from sandbox.clearfacts.seed import DEMO_PASSWORD
from tests.personas import SOFIE


def test_signing_in_through_the_sandbox_login_and_consent_pages_lands_on_the_dashboard(page, portal):
    page.goto(f"{portal.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/sign-in/"))

    page.get_by_test_id("sign-in-with-clearfacts").click()
    expect(page.get_by_role("heading", name="Log in to Clearfacts")).to_be_visible()
    page.get_by_label("Username").fill(SOFIE)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Authorize Clearfacts portal")).to_be_visible()
    expect(page.get_by_text("upload_document")).to_be_visible()
    page.get_by_role("button", name="Allow").click()

    expect(page).to_have_url(f"{portal.url}/")
    # Sofie's Clearfacts locale is nl-BE: the portal now speaks Dutch to her.
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", name="Welkom, Sofie Vandenberghe")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_contain_text("Boekhoudkantoor Vandenberghe & Partners")
    expect(page.get_by_role("heading", name="7 administraties")).to_be_visible()
    # The first message speaks her language too, though the browser asked for English.
    expect(page.get_by_text("Bijgewerkt met Clearfacts: u hebt toegang tot 7 administraties.")).to_be_visible()
    assert page.console_errors == [], "no errors and no Content-Security-Policy violations"


def test_the_language_switcher_and_sign_out_work_in_the_browser(page, portal):
    page.goto(f"{portal.url}/accounts/sign-in/")
    page.get_by_test_id("language-menu").click()
    page.get_by_role("button", name="Français").click()
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()

    page.get_by_test_id("sign-in-with-clearfacts").click()
    page.get_by_label("Username").fill(SOFIE)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()

    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Afmelden").click()
    expect(page).to_have_url(re.compile(r"/accounts/sign-in/"))
    assert page.console_errors == []
