"""The clearance queue in real Chromium: an office associate finds a rejected invoice of one client
company and a stuck one of another in one queue, most urgent first, ticks one and chooses a colleague
to assign it to; at a phone's width the queue fits without scrolling sideways."""

import re

from django.conf import settings
from playwright.sync_api import expect

from accounts.models import User
from clearfacts_app.models import Administration
from invoicing.models import Invoice
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import sign_in_with_clearfacts
from tests.factories import make_user
from tests.invoicing import cockpit_helpers as make
from tests.personas import BAKKERIJ, BROUWERIJ, PIETER


def test_an_associate_sees_two_companies_problems_in_one_queue_and_assigns_one(page, portal):
    sign_in_with_clearfacts(page, portal, PIETER)
    pieter = User.objects.get(email=PIETER)
    bakkerij = Administration.objects.get(company_number=BAKKERIJ, office=pieter.office)
    brouwerij = Administration.objects.get(company_number=BROUWERIJ, office=pieter.office)
    colleague = make_user(pieter.office, administrations=[bakkerij, brouwerij], name="Sara Wouters")
    rejected = make.rejected(bakkerij, pieter, invoice_number="2026-REJ-1").invoice
    stuck = make.stuck(brouwerij, pieter, invoice_number="2026-PL-7", country="PL", buyer_country="PL").invoice

    page.goto(f"{portal.url}/")
    page.get_by_test_id("nav-cockpit").click()
    page.wait_for_url(f"{portal.url}/office/clearance/")

    rows = page.get_by_test_id("cockpit-item")
    expect(rows).to_have_count(2)
    # Most urgent first: stuck past its limit, then rejected.
    expect(rows.nth(0)).to_have_attribute("data-key", f"invoice:{stuck.pk}")
    expect(rows.nth(0).get_by_test_id("problem")).to_have_text("Stuck past its limit")
    expect(rows.nth(0)).to_contain_text(brouwerij.name)
    expect(rows.nth(1)).to_have_attribute("data-key", f"invoice:{rejected.pk}")
    expect(rows.nth(1).get_by_test_id("reason")).to_have_text("SDI 00102: Partita IVA del cessionario non valida")
    expect(page.get_by_test_id("cockpit-count-row")).to_have_count(2)
    assert_accessible(page, "the clearance queue")

    # A count filters the queue to its company and problem.
    page.get_by_test_id("cockpit-count-row").filter(has_text=bakkerij.name).get_by_test_id("count-rejected").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-key", f"invoice:{rejected.pk}")
    page.get_by_role("link", name="Show everything").click()
    expect(rows).to_have_count(2)

    # Tick the rejected one and choose the colleague.
    rows.nth(1).get_by_test_id("choose-item").check()
    page.get_by_test_id("cockpit-assignee").select_option(label="Sara Wouters")
    form = page.locator("form#cockpit-act")
    expect(form).to_have_attribute("action", "/office/clearance/act/")
    expect(form.locator('input[name="next"]')).to_have_value("/office/clearance/")
    assert page.locator('input[name="item"][form="cockpit-act"]:checked').evaluate_all(
        "boxes => boxes.map(box => box.value)"
    ) == [f"invoice:{rejected.pk}"]

    page.get_by_test_id("action-assign").click()
    page.wait_for_url(re.compile(r"/office/clearance/"))
    expect(page.get_by_test_id("cockpit-item").nth(1).get_by_test_id("assignee")).to_have_text("Sara Wouters")
    assert Invoice.objects.get(pk=rejected.pk).assignee == colleague


def test_on_a_phone_the_queue_fits_and_each_row_says_what_and_why(page, portal):
    sign_in_with_clearfacts(page, portal, PIETER)
    pieter = User.objects.get(email=PIETER)
    bakkerij = Administration.objects.get(company_number=BAKKERIJ, office=pieter.office)
    make.rejected(bakkerij, pieter, invoice_number="2026-REJ-" + "9" * 40)
    make.held_document(bakkerij, pieter, "factuur_" + "0123456789" * 12 + ".pdf")

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{portal.url}/office/clearance/")

    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    first = page.get_by_test_id("cockpit-item").first
    expect(first.locator(".badge:visible")).to_have_text("Rejected by the authority")
    expect(first.locator("div:visible", has_text="SDI 00102").last).to_have_text(
        "SDI 00102: Partita IVA del cessionario non valida"
    )
    first.get_by_test_id("choose-item").scroll_into_view_if_needed()
    expect(first.get_by_test_id("choose-item")).to_be_in_viewport()
    expect(first.get_by_test_id("item-link")).to_be_in_viewport()
    assert_accessible(page, "the clearance queue on a phone")

    # The counts per company fit too, total column included, in each language (Dutch has the
    # longest problem: "Geweigerd door de belastingadministratie").
    for language in ("en", "nl", "fr"):
        page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": portal.url}])
        page.goto(f"{portal.url}/office/clearance/")
        counts = page.locator("#cockpit-counts .table-responsive")
        assert counts.evaluate("box => box.scrollWidth <= box.clientWidth"), language
