"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright, against the live portal."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# As root, in a machine with a closed network: no sandbox, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and PORTAL_REQUIRE_BROWSER=1")
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM}")
    # Playwright's sync API keeps an event loop in this thread; the tests' ORM calls are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(chromium):
    """A page in a browser context of its own (its own cookies: another person), which collects
    its console errors in `page.console_errors`."""
    context = chromium.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    return page


@pytest.fixture
def page(chromium, portal):
    page = new_page(chromium)
    yield page
    page.context.close()


def sign_in_with_clearfacts(page, portal, username, *, language="en"):
    """Signs in through the sandbox's login and consent pages, then picks the interface language."""
    from sandbox.clearfacts.seed import DEMO_PASSWORD

    page.goto(f"{portal.url}/accounts/sign-in/")
    page.get_by_test_id("sign-in-with-clearfacts").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    if page.get_by_role("button", name="Allow").count():
        page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{portal.url}/")
    if language:
        page.get_by_test_id("language-menu").click()
        page.locator(f'button[name="language"][value="{language}"]').click()
        page.wait_for_load_state()


def signed_in_directly(page, portal, username, *, language="en"):
    """`username` signed in in the page's browser, as the sign-in leaves them but without its pages
    (tests.signed_in.sign_in_directly): for tests about other pages. Returns the portal's User."""
    from tests.signed_in import sign_in_directly

    session = sign_in_directly(portal, username, language=language)
    page.context.add_cookies(
        [{"name": cookie.name, "value": cookie.value, "url": portal.url} for cookie in session.cookies]
    )
    return session.user
