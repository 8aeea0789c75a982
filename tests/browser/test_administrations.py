import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in_with_clearfacts
from tests.personas import SOFIE


def test_browse_the_list_switch_administration_and_open_every_tab(page, portal):
    sign_in_with_clearfacts(page, portal, SOFIE)

    page.get_by_role("link", name="Administrations", exact=True).click()
    expect(page.get_by_test_id("administration-table").locator("tbody tr")).to_have_count(7)
    page.get_by_role("link", name="Bakkerij Maes BV").click()
    expect(page.get_by_role("heading", name="Bakkerij Maes BV")).to_be_visible()
    expect(page.get_by_test_id("no-documents")).to_be_visible()  # the first tab: its documents
    page.get_by_test_id("tab-journals").click()
    expect(page.get_by_test_id("journals")).to_contain_text("ClearFacts Aankopen")  # loaded on demand

    # The switcher, from the navigation bar.
    page.get_by_test_id("administration-switcher").get_by_role("button").click()
    page.get_by_test_id("administration-switcher").get_by_role("link", name=re.compile("Brouwerij De Leeuw NV")).click()
    expect(page.get_by_role("heading", name="Brouwerij De Leeuw NV")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/administrations/0441908244/"))

    page.get_by_test_id("tab-customers").click()
    expect(page.get_by_test_id("customers").locator("tbody tr")).to_have_count(100)
    expect(page).to_have_url(re.compile(r"/administrations/0441908244/customers/$"))
    page.get_by_test_id("customers-next").click()
    expect(page.get_by_test_id("customers").locator("tbody tr")).to_have_count(42)
    page.get_by_label("Search customers").fill("taverne")
    expect(page.get_by_test_id("customers").locator("tbody tr")).to_have_count(21)

    page.get_by_test_id("tab-archive").click()
    expect(page.get_by_test_id("archive-categories")).to_contain_text("Huurovereenkomst")

    page.get_by_test_id("tab-statistics").click()
    expect(page.get_by_test_id("statistics-table").locator("tbody tr")).to_have_count(12)
    expect(page.locator("canvas[data-statistics-chart]")).to_have_attribute("data-drawn", "true")

    page.go_back()  # history follows the tabs
    expect(page.get_by_test_id("archive-categories")).to_be_visible()
    assert page.console_errors == []


def test_the_copy_button_copies_a_purchase_inbox_address(page, portal):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in_with_clearfacts(page, portal, SOFIE)
    page.goto(f"{portal.url}/administrations/0652381715/")

    page.get_by_test_id("purchase-inbox").get_by_role("button").first.click()

    expect(page.get_by_test_id("purchase-inbox").get_by_role("button").first).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "aankoop-0652381715@vandenberghe.clearfacts.be"


def test_back_to_a_tab_after_leaving_the_page_shows_the_whole_page(page, portal):
    sign_in_with_clearfacts(page, portal, SOFIE)
    page.goto(f"{portal.url}/administrations/0652381715/")
    page.get_by_test_id("tab-journals").click()
    expect(page.get_by_test_id("journals")).to_be_visible()

    page.get_by_role("link", name="Documents", exact=True).first.click()
    expect(page.get_by_role("heading", name="Documents", exact=True)).to_be_visible()
    page.go_back()

    expect(page).to_have_url(re.compile(r"/administrations/0652381715/journals/$"))
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_visible()
    expect(page.get_by_role("heading", name="Bakkerij Maes BV")).to_be_visible()
    expect(page.get_by_role("tab", name="Journals")).to_have_attribute("aria-selected", "true")
    page.go_back()  # htmx restores the first tab from the server

    expect(page).to_have_url(re.compile(r"/administrations/0652381715/$"))
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_visible()
    expect(page.get_by_role("heading", name="Bakkerij Maes BV")).to_be_visible()
    expect(page.get_by_role("tab", name="Documents")).to_have_attribute("aria-selected", "true")
    assert page.console_errors == []
