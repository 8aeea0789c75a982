"""Every page of the site at a phone, laptop and desktop width, in each language.

At each width a page must not scroll sideways and the user menu (and its Sign out) must be
reachable. axe-core must find no serious or critical accessibility violation: on every page in
every language, at one width per language (AXE_WIDTHS), so that across the three languages each
page is checked at a phone's width, at a laptop's (the top bar collapsed) and at the widest (the
top bar expanded and every responsive table column shown).
"""

import re

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from accounts.models import Membership, User
from clearfacts_app.models import Administration, Document
from invoicing.models import Buyer, InvoicingProfile
from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import sign_in_with_clearfacts, signed_in_directly
from tests.factories import make_administration, make_document, make_invoice, make_office, make_user
from tests.personas import BAKKERIJ, SOFIE

WIDTHS = [375, 1024, 1280, 1440]
# axe-core is most of the walk's time, and what it judges changes with the width (which elements
# show: the top bar expands from 1200 px, table columns from md to xxl), not with the language (the
# same elements, colours and labels, translated). So each language runs it at another width: the
# phone's (d-*-none elements, the menu button), 1024 (the md and lg columns with the top bar
# collapsed) and 1440 (the top bar expanded, every column). 1280 shows a subset of 1440's elements.
AXE_WIDTHS = {"en": 375, "nl": 1024, "fr": 1440}
LONG_NAME = "factuur_" + "0123456789" * 19 + ".pdf"  # 200 characters, no spaces
REFUSED = {"reason_code": Document.Reason.REFUSED, "reason_params": {"message": "Page 3 is empty."}}


def make_sofies_document(user, *, filename="aankoop-0042.pdf", status=Document.Status.SENT, **fields):
    maes = Administration.objects.get(company_number=BAKKERIJ, office=user.office)
    return make_document(maes, user, filename, status=status, **fields)


def scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def on_screen(page, locator) -> bool:
    box = locator.bounding_box()
    width = page.evaluate("window.innerWidth")
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def user_menu_problem(page) -> str | None:
    """The user menu shows (behind the navigation toggle on a phone) and its Sign out is on screen."""
    toggle = page.locator(".navbar-toggler")
    if toggle.is_visible():
        toggle.click()
        expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
    menu = page.get_by_test_id("user-menu")
    if not menu.is_visible() or not on_screen(page, menu):
        return "the user menu is hidden or off screen"
    menu.click()
    sign_out = page.locator('form[action$="/accounts/sign-out/"] button')
    expect(sign_out).to_be_visible()
    if not on_screen(page, sign_out):
        return "Sign out is off screen"
    return None


def check_page(page, url, *, language, signed_in=True):
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        where = f"{url} at {width}px in {language}"
        if " · " not in page.title():
            problems.append(f"{where}: the title {page.title()!r} does not name the page")
        if scrolls_sideways(page):
            problems.append(f"{where}: scrolls sideways")
        if width == AXE_WIDTHS[language] and (violations := axe_violations(page)):
            problems.append(f"{where}: axe-core found\n{describe(violations)}")
        if signed_in and (problem := user_menu_problem(page)):
            problems.append(f"{where}: {problem}")
    return problems


def make_sofies_invoicing(user):
    """A complete invoicing profile, a buyer and a draft invoice with a long buyer name for Sofie's company."""
    maes = Administration.objects.get(company_number=BAKKERIJ, office=user.office)
    InvoicingProfile.objects.create(
        administration=maes,
        legal_name=maes.name,
        tax_id=maes.company_number,
        street="Kerkstraat 1",
        city="Gent",
        postal_code="9000",
        iban="BE71096123456769",
    )
    buyer = Buyer.objects.create(administration=maes, name="Rossi Forniture Srl", city="Milano", country="IT")
    invoice = make_invoice(maes, user, buyer_name="Rossi Forniture e Servizi Industriali Società per Azioni")
    return invoice, buyer


# Every page of the site, by area: each area in each language is a test of its own, so that
# pytest-xdist spreads the walk over its workers. {base} is Sofie's Bakkerij Maes.
PAGES = {
    "invoicing": [
        "{base}/invoices/",
        "{base}/invoices/new/",
        "{base}/invoices/{invoice}/",
        "{base}/invoices/{invoice}/edit/",
        "{base}/invoicing/profile/",
        "{base}/invoicing/buyers/",
        "{base}/invoicing/buyers/new/",
        "{base}/invoicing/buyers/{buyer}/",
        "{site}/invoices/",
        "{site}/invoices/evidence/",
        "{site}/office/clearance/",
    ],
    "administration": [
        "{base}/",
        "{base}/journals/",
        "{base}/customers/",
        "{base}/archive/",
        "{base}/statistics/",
        "{base}/activity/",
        "{base}/people/",
        "{base}/app-info/",
        "{base}/documents/upload/",
        "{base}/documents/{document}/",
    ],
    "office": [
        "{site}/",
        "{site}/administrations/",
        "{site}/documents/",
        "{site}/activity/",
        "{site}/office/",
        "{site}/office/associates/",
        "{site}/office/associates/add/",
        "{site}/account/notifications/",
        "{site}/notifications/",
        "{site}/no-such-page/",
    ],
}


@pytest.mark.parametrize("area", PAGES)
@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_every_page_fits_every_width_and_passes_axe(page, portal, language, area):
    page.emulate_media(reduced_motion="reduce")  # Bootstrap's collapse and fades then end at once
    # Signed in as the sign-in leaves Sofie, without its pages (tests/browser/test_sign_in.py walks them).
    user = signed_in_directly(page, portal, SOFIE, language=language)
    document = make_sofies_document(user, filename=LONG_NAME, status=Document.Status.FAILED, **REFUSED)
    make_sofies_document(
        user, filename="kopie.pdf", status=Document.Status.HELD, reason_code=Document.Reason.OUTCOME_UNKNOWN
    )
    make_sofies_document(
        user,
        filename="wacht.pdf",
        status=Document.Status.NEEDS_SIGN_IN,
        reason_code=Document.Reason.SIGN_IN_REFUSED,
        reason_params={"user": "Sofie"},
    )
    make_sofies_document(user, filename="verzonden.pdf", status=Document.Status.SENT)
    invoice, buyer = make_sofies_invoicing(user)
    ids = {"document": document.pk, "invoice": invoice.pk, "buyer": buyer.pk}

    problems = []
    for url in PAGES[area]:
        problems += check_page(
            page, url.format(site=portal.url, base=f"{portal.url}/administrations/{BAKKERIJ}", **ids), language=language
        )
    assert not problems, "\n".join(problems)


def test_the_sign_in_page_fits_every_width_and_passes_axe(page, portal):
    problems = []
    for language in AXE_WIDTHS:
        page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": portal.url}])
        problems += check_page(page, f"{portal.url}/accounts/sign-in/", language=language, signed_in=False)
    assert not problems, "\n".join(problems)


def fits_its_container(page, selector) -> bool:
    return page.eval_on_selector(selector, "table => table.scrollWidth <= table.parentElement.clientWidth")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_long_file_name_wraps_instead_of_widening_the_document_tables(page, portal, language):
    sign_in_with_clearfacts(page, portal, SOFIE, language=language)
    make_sofies_document(User.objects.get(email=SOFIE), filename=LONG_NAME, status=Document.Status.FAILED, **REFUSED)

    for url in (f"{portal.url}/documents/", f"{portal.url}/administrations/{BAKKERIJ}/"):
        for width in (1024, 1280, 1440):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(url)
            assert fits_its_container(page, '[data-testid="documents"]'), f"{url} at {width}px"
            expect(page.get_by_test_id("document-status")).to_be_in_viewport()


def test_on_a_phone_the_upload_button_leaves_the_status_filter_free(page, portal):
    sign_in_with_clearfacts(page, portal, SOFIE)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/")

    upload = page.get_by_test_id("upload-link").bounding_box()
    status = page.locator('select[name="status"]').bounding_box()

    overlap_x = min(upload["x"] + upload["width"], status["x"] + status["width"]) - max(upload["x"], status["x"])
    overlap_y = min(upload["y"] + upload["height"], status["y"] + status["height"]) - max(upload["y"], status["y"])
    assert overlap_x <= 0 or overlap_y <= 0, f"the upload button {upload} covers the status filter {status}"
    assert not scrolls_sideways(page)


def test_every_top_bar_label_stays_on_one_line_in_french(page, portal):
    sign_in_with_clearfacts(page, portal, SOFIE, language="fr")
    for width in (1024, 1280, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{portal.url}/")
        if page.locator(".navbar-toggler").is_visible():
            page.locator(".navbar-toggler").click()
        dashboard = page.get_by_role("link", name="Tableau de bord", exact=True)
        documents = page.get_by_role("link", name="Documents", exact=True)
        expect(dashboard).to_be_visible()
        assert dashboard.bounding_box()["height"] == documents.bounding_box()["height"], f"it wraps at {width}px"


def test_the_admin_document_list_keeps_its_columns_with_a_long_file_name(page, portal, admin_user):
    staff = Client()
    staff.force_login(admin_user, backend="accounts.staff.StaffAuthenticationBackend")
    cookie = staff.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": portal.url}])
    office = make_office()
    administration = make_administration(office, company_number=BAKKERIJ)
    uploader = make_user(office, role=Membership.Role.MEMBER, administrations=[administration])
    make_document(administration, uploader, LONG_NAME, status=Document.Status.FAILED, **REFUSED)

    for width in (1280, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{portal.url}/admin/clearfacts_app/document/")
        assert page.locator("#result_list tbody .field-filename").bounding_box()["width"] <= 320, f"at {width}px"
        expect(page.locator("#result_list td.field-status")).to_be_in_viewport()


def test_on_a_phone_the_people_tab_shows_each_role_form_and_whole_e_mail_addresses(page, portal):
    sign_in_with_clearfacts(page, portal, SOFIE, language="fr")
    maes = Administration.objects.get(company_number=BAKKERIJ, office=User.objects.get(email=SOFIE).office)
    make_user(maes.office, administrations=[maes], name="Jan Peeters", email="jan.peeters@bakkerij-maes.example")
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/people/")

    assert not scrolls_sideways(page)
    row = page.get_by_test_id("person-row").filter(has_text="Jan Peeters")
    select, button = row.get_by_role("combobox"), row.get_by_role("button")
    select.scroll_into_view_if_needed()
    assert on_screen(page, select) and on_screen(page, button)
    email = row.get_by_text("jan.peeters@bakkerij-maes.example")
    assert email.bounding_box()["width"] > 150, "the address breaks one letter per line"
    assert not (violations := axe_violations(page)), describe(violations)
