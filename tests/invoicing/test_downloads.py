"""Downloading an invoice's PDF and UBL from its page (invoicing.download_views)."""

import io
from datetime import date

import pytest
from defusedxml import ElementTree
from django.urls import reverse
from pypdf import PdfReader

from invoicing import ubl
from invoicing.models import Invoice
from tests.factories import make_invoice
from tests.invoicing.editor_helpers import complete_profile

pytestmark = pytest.mark.django_db

UBL_NAMESPACES = {
    "Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}


def url(invoice: Invoice, name: str) -> str:
    return reverse(
        f"invoicing:{name}", kwargs={"company_number": invoice.administration.company_number, "invoice_pk": invoice.pk}
    )


@pytest.fixture
def invoice(administration, member):
    complete_profile(administration)
    return make_invoice(
        administration,
        member,
        invoice_number="2026/0042",
        issue_date=date(2026, 3, 2),
        supplier_name=administration.name,
        status=Invoice.Status.PENDING,
    )


def test_the_pdf_downloads_as_an_attachment_that_opens(client, viewer, invoice):
    client.force_login(viewer)  # reading is enough to download

    response = client.get(url(invoice, "invoice-pdf"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="invoice-2026-0042.pdf"'
    assert "no-store" in response["Cache-Control"]
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "2026/0042" in text and "Rossi Forniture Srl" in text


def test_the_pdf_is_in_the_invoice_language_not_the_readers(client, member, invoice):
    Invoice.objects.filter(pk=invoice.pk).update(language="fr")
    client.force_login(member)

    response = client.get(url(invoice, "invoice-pdf"), HTTP_ACCEPT_LANGUAGE="nl")

    assert "Facture 2026/0042" in PdfReader(io.BytesIO(response.content)).pages[0].extract_text()


def test_another_tenants_invoice_is_not_found(client, member, invoice, other_administration, outsider):
    theirs = make_invoice(other_administration, outsider, status=Invoice.Status.ACCEPTED)
    client.force_login(member)

    for name in ("invoice-pdf", "invoice-ubl"):
        # their invoice under our administration's address, and our invoice for someone of another office
        mixed = url(invoice, name).replace(f"/{invoice.pk}/", f"/{theirs.pk}/")
        assert client.get(mixed).status_code == 404
    client.force_login(outsider)
    assert client.get(url(invoice, "invoice-pdf")).status_code == 404


def test_a_draft_has_no_documents_yet(client, member, invoice):
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.DRAFT)
    client.force_login(member)

    response = client.get(url(invoice, "invoice-pdf"), follow=True)

    assert response.redirect_chain == [(url(invoice, "invoice-detail"), 302)]
    assert "A draft has no PDF or UBL yet" in response.text
    assert 'data-testid="download-pdf"' not in response.text
    assert 'data-testid="documents-draft"' in response.text


def test_the_invoice_page_offers_both_downloads_once_submitted(client, viewer, invoice):
    client.force_login(viewer)

    text = client.get(url(invoice, "invoice-detail")).text

    assert f'href="{url(invoice, "invoice-pdf")}"' in text
    assert f'href="{url(invoice, "invoice-ubl")}"' in text
    assert 'data-testid="email-buyer"' not in text  # viewers do not send


# These two call invoicing.ubl (the UBL work): until its contract is filled in they may fail only with its
# NotImplementedError; once it is, they must pass (remove the marks then).


def test_the_ubl_downloads_as_an_xml_attachment(client, member, invoice):
    client.force_login(member)

    response = client.get(url(invoice, "invoice-ubl"))

    assert response.status_code == 200
    assert response["Content-Type"] == ubl.UBL_CONTENT_TYPE
    filename = ubl.ubl_filename(invoice)
    assert filename.endswith(".xml") and filename.isascii()
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{{{UBL_NAMESPACES['Invoice']}}}Invoice"


def test_a_credit_notes_ubl_is_a_credit_note(client, member, administration, invoice):
    note = make_invoice(
        administration,
        member,
        document_type=Invoice.DocumentType.CREDIT_NOTE,
        original_invoice=invoice,
        supplier_name=administration.name,
        status=Invoice.Status.ACCEPTED,
    )
    client.force_login(member)

    response = client.get(url(note, "invoice-ubl"))

    assert response.status_code == 200
    assert ElementTree.fromstring(response.content).tag == f"{{{UBL_NAMESPACES['CreditNote']}}}CreditNote"
