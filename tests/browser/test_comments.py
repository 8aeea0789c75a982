"""Commenting in a browser: the "@" picker offers the people who can see the administration, the comment
arrives without a reload, and the thread passes axe at a phone's width and a laptop's."""

from playwright.sync_api import expect

from accounts.models import User
from clearfacts_app import comments
from clearfacts_app.models import Administration, Notification
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import sign_in_with_clearfacts
from tests.factories import make_document, make_invoice, make_user
from tests.personas import BAKKERIJ, SOFIE


def test_a_mention_picked_after_the_at_sign_notifies_the_colleague(page, portal):
    page.emulate_media(reduced_motion="reduce")  # no button colours caught mid-transition by axe
    sign_in_with_clearfacts(page, portal, SOFIE)
    sofie = User.objects.get(email=SOFIE)
    maes = Administration.objects.get(company_number=BAKKERIJ, office=sofie.office)
    colleague = make_user(sofie.office, administrations=[maes], name="Jan Peeters")
    make_user(sofie.office, name="Tom Claes")  # of the office, without access: never offered
    document = make_document(maes, sofie, "aankoop-0042.pdf")
    url = f"{portal.url}/administrations/{BAKKERIJ}/documents/{document.pk}/"

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(url)
    field = page.get_by_label("Add a comment")
    field.press_sequentially("Can you check this, @Ja")
    suggestion = page.get_by_test_id("mention-suggestion")
    expect(suggestion).to_have_text("@Jan Peeters")
    expect(page.get_by_test_id("mention-suggestions")).not_to_contain_text("Tom Claes")
    suggestion.click()
    expect(field).to_have_value("Can you check this, @Jan Peeters ")
    field.press_sequentially("?")
    assert_accessible(page, "the document page with the picker open at 375px")
    page.get_by_test_id("comment-submit").click()

    comment = page.get_by_test_id("comment")
    expect(comment).to_contain_text("Can you check this, @Jan Peeters ?")
    expect(comment.locator("strong")).to_have_text("@Jan Peeters")
    assert Notification.objects.filter(recipient=colleague, kind=Notification.Kind.MENTIONED).count() == 1

    comment.get_by_test_id("comment-edit").click()
    page.get_by_label("Your comment").fill("Checked, thanks")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("comment-edited")).to_be_visible()
    page.mouse.move(0, 0)  # nothing hovered
    page.set_viewport_size({"width": 1024, "height": 900})
    assert_accessible(page, "the document page with an edited comment at 1024px")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_comments_page_without_javascript_fits_a_phone_and_passes_axe(page, portal):
    page.emulate_media(reduced_motion="reduce")
    sign_in_with_clearfacts(page, portal, SOFIE, language="nl")
    sofie = User.objects.get(email=SOFIE)
    maes = Administration.objects.get(company_number=BAKKERIJ, office=sofie.office)
    make_user(sofie.office, administrations=[maes], name="Jan Peeters")
    document = make_document(maes, sofie, "aankoop-" + "0123456789" * 10 + ".pdf")
    comments.comment_create(target=document, author=sofie, body="@Jan Peeters " + "lang" * 40)
    base = f"{portal.url}/administrations/{BAKKERIJ}/documents/{document.pk}/comments/"

    for url in (base, f"{base}{document.comments.get().pk}/edit/"):
        for width in (375, 1024):
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(url)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{url} at {width}px"
            assert_accessible(page, f"{url} at {width}px")


# What a browser extension or an assistant's highlight does to the element clicked: a style set through
# the DOM (allowed by the CSP). htmx must not copy it onto the comment that replaces it ("attribute
# settling" would set a style attribute, which the CSP's style-src 'self' blocks and logs).
HIGHLIGHT = "document.querySelector('[data-testid=comment]').style.outline = '2px solid red'"


def test_editing_and_deleting_a_comment_on_an_invoice_logs_no_console_error(page, portal):
    sign_in_with_clearfacts(page, portal, SOFIE)
    sofie = User.objects.get(email=SOFIE)
    maes = Administration.objects.get(company_number=BAKKERIJ, office=sofie.office)
    invoice = make_invoice(maes, sofie)
    comments.comment_create(target=invoice, author=sofie, body="Is the address right?")
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/invoices/{invoice.pk}/")
    page.evaluate(HIGHLIGHT)
    page.get_by_test_id("comment").get_by_test_id("comment-edit").click()
    page.get_by_label("Your comment").fill("The address is right.")
    page.evaluate(HIGHLIGHT)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("comment-edited")).to_be_visible()
    page.evaluate(HIGHLIGHT)
    page.get_by_test_id("comment-delete").click()
    expect(page.get_by_test_id("comment-deleted")).to_be_visible()

    assert page.console_errors == []
