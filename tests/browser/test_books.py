"""An accepted invoice's documents and its way into the books, in real Chromium.

The first test is the whole story of issue 13: a member submits a Polish invoice, watches it reach
ACCEPTED without reloading (the send in the session's real Celery worker, the status checks in the
poller, as in test_clearance), downloads its PDF and its UBL, watches the page's "In the books" part
follow the filing into the administration's documents until the document is sent (the preparing task
and the upload in that same worker, against the sandbox's Clearfacts), and finds the sales document in
the administration's documents list. The second checks the same part and the download buttons on a phone.
"""

import base64
import io
import re

import pytest
from defusedxml import ElementTree
from django.test import override_settings
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.models import User
from clearfacts_app.models import Administration, Document
from invoicing.models import BookFiling, Invoice
from sandbox.clearfacts import models as sandbox
from sandbox.clearvo.seed import seed as seed_clearvo
from tests.browser.accessibility import assert_accessible
from tests.browser.clearance import TIME_FACTOR, polish_invoice, poll_until_accepted
from tests.browser.conftest import sign_in_with_clearfacts
from tests.browser.test_layout import on_screen, scrolls_sideways
from tests.factories import make_document
from tests.personas import AN, BAKKERIJ

NS = {
    "ubl": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
PEPPOL_BIS_3 = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
NUMBER = "PL-2026-0001"  # tests.browser.test_clearance.polish_invoice's
TOTAL = "246.00"  # 2 × 100.00 PLN + 23 % VAT, as an English reader reads it


def downloaded(page, test_id):
    """Clicks a download button; returns the file's suggested name and bytes."""
    with page.expect_download() as download_info:
        page.get_by_test_id(test_id).click()
    download = download_info.value
    assert download.failure() is None
    with open(download.path(), "rb") as file:
        return download.suggested_filename, file.read()


def pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"[ \u00a0\u202f]+", " ", text)


def where_the_filing_is(invoice) -> str:
    """What the worker and the poller stored, for a failure's message."""
    invoice.refresh_from_db()
    filing = BookFiling.objects.select_related("document").filter(invoice=invoice).first()
    document = filing and filing.document
    return (
        f"invoice {invoice.status}, filing {filing and filing.state}, "
        f"document {document and (document.status, document.reason_code, document.attempts)}"
    )


def sales_at_the_sandbox():
    return sandbox.Document.objects.filter(company__company_number=BAKKERIJ, destination="inbox", invoice_type="SALE")


@pytest.mark.books_dispatched
def test_a_member_submits_an_invoice_downloads_its_pdf_and_ubl_and_finds_it_in_the_books(page, portal, live_worker):
    seed_clearvo()
    sign_in_with_clearfacts(page, portal, AN)
    invoice = polish_invoice(User.objects.get(email=AN))
    Invoice.objects.filter(pk=invoice.pk).update(language="en")
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/invoices/{invoice.pk}/")
    expect(page.get_by_test_id("not-submitted")).to_be_visible()
    expect(page.get_by_test_id("documents-draft")).to_be_visible()  # no downloads for a draft

    with override_settings(SANDBOX_TIME_FACTOR=TIME_FACTOR):
        page.get_by_test_id("submit-invoice").click()
        expect(page.get_by_test_id("attempt")).to_have_count(1)
        page.evaluate("window.stillTheSamePage = true")  # gone if anything reloads the page from here on
        status = page.get_by_test_id("clearance-status")
        expect(status).to_have_text(re.compile("Pending|Accepted"), timeout=30_000)

        poll_until_accepted(page, invoice)
        expect(status).to_have_text("Accepted", timeout=2_000)
    expect(page.get_by_test_id("invoice-status")).to_have_text("Accepted")

    # The page follows the filing by itself: prepared by the worker, then uploaded by it. A minute each:
    # on a busy two-CPU machine the whole test once ran 30 s longer than usual; a failure says what was stored.
    filing = page.get_by_test_id("book-filing")
    try:
        expect(page.get_by_test_id("book-filing-state")).to_have_text(
            "In the administration’s documents as a sales invoice:", timeout=60_000
        )
        expect(filing).to_have_attribute("data-document-status", "sent", timeout=60_000)
    except AssertionError as error:
        raise AssertionError(f"{error}\nstored: {where_the_filing_is(invoice)}") from None
    expect(page.get_by_test_id("book-filing-document-status")).to_have_text("Sent")
    # In the documents list's colours, so that a held or failed one stands out as it does there.
    expect(page.get_by_test_id("book-filing-document-status")).to_have_class(re.compile(r"\bdocument-status-sent\b"))
    expect(page.get_by_test_id("book-filing-document")).to_have_text(f"{NUMBER}.xml")
    assert page.evaluate("window.stillTheSamePage") is True

    # Sent: nothing moves by itself any more, so the part stopped asking (HTTP 286).
    asked = []
    page.on("request", lambda request: "/books/" in request.url and asked.append(request.url))
    page.wait_for_timeout(2_500)
    assert asked == []

    # The PDF, as the buyer reads it.
    expect(page.get_by_test_id("buyer-documents")).to_be_visible()
    pdf_name, pdf = downloaded(page, "download-pdf")
    assert pdf_name.endswith(".pdf") and pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert NUMBER in text and f"{TOTAL} PLN" in text

    # The UBL: a Peppol BIS 3.0 Invoice for that number, with that PDF inside.
    ubl_name, ubl = downloaded(page, "download-ubl")
    assert ubl_name == f"{NUMBER}.xml"
    root = ElementTree.fromstring(ubl)
    assert root.tag == f"{{{NS['ubl']}}}Invoice"
    assert root.findtext("cbc:CustomizationID", namespaces=NS) == PEPPOL_BIS_3
    assert root.findtext("cbc:ID", namespaces=NS) == NUMBER
    assert root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == TOTAL
    embedded = root.find("cac:AdditionalDocumentReference/cac:Attachment/cbc:EmbeddedDocumentBinaryObject", NS)
    assert embedded is not None and embedded.get("mimeCode") == "application/pdf"
    assert base64.b64decode(embedded.text) == pdf  # the same document, byte for byte
    assert page.evaluate("window.stillTheSamePage") is True

    # From the invoice to its document, and from there to the administration's documents.
    page.get_by_test_id("book-filing-document").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{NUMBER}.xml")
    expect(page.get_by_test_id("document-status")).to_have_text("Sent")
    page.get_by_role("link", name="All documents").click()
    page.wait_for_url(f"{portal.url}/administrations/{BAKKERIJ}/documents/**")
    row = page.get_by_test_id("document-row").filter(has=page.get_by_role("link", name=f"{NUMBER}.xml"))
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "sent")
    expect(row).to_contain_text("Inbox")

    # One sales invoice in the administration's Clearfacts inbox, and it is this UBL.
    sales = list(sales_at_the_sandbox())
    assert len(sales) == 1
    assert BookFiling.objects.get(invoice=invoice).document.sha256 == sales[0].sha256
    assert_accessible(page, "the administration's documents with the sales invoice")
    assert page.console_errors == []


def accepted_and_filed(author) -> Invoice:
    """An accepted invoice whose UBL is in the administration's documents and sent (rows written here)."""
    invoice = polish_invoice(author)
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.ACCEPTED)
    document = make_document(
        invoice.administration,
        author,
        f"{NUMBER}.xml",
        invoice_type=Document.InvoiceType.SALE,
        content_type="application/xml",
        status=Document.Status.SENT,
    )
    BookFiling.objects.create(invoice=invoice, document=document, state=BookFiling.State.HANDED_OVER)
    return invoice


@pytest.mark.parametrize("language", ["en", "fr"])
def test_on_a_phone_the_downloads_and_the_books_fit_the_screen(page, portal, language):
    page.emulate_media(reduced_motion="reduce")
    sign_in_with_clearfacts(page, portal, AN, language=language)
    invoice = accepted_and_filed(User.objects.get(email=AN))
    assert Administration.objects.get(company_number=BAKKERIJ) == invoice.administration
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{portal.url}/administrations/{BAKKERIJ}/invoices/{invoice.pk}/")

    assert not scrolls_sideways(page)
    for test_id in (
        "download-pdf",
        "download-ubl",
        "book-filing-state",
        "book-filing-document-status",
        "book-filing-document",
    ):
        element = page.get_by_test_id(test_id)
        element.scroll_into_view_if_needed()
        expect(element).to_be_visible()
        assert on_screen(page, element), f"{test_id} is off screen at 375px in {language}"
    assert not scrolls_sideways(page)
    assert page.console_errors == []
