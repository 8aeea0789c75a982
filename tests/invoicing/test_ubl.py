"""The Peppol BIS Billing 3.0 UBL of invoices, credit notes and debit notes: for every destination country
and each tax code it allows, the EN16931 (BR-*) and PEPPOL-EN16931-* rules each test names, checked
with XPath. The official artefacts (schema and Schematron) run outside the suite: scripts/validate_ubl.py.
"""

import base64
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from invoicing import pdf as invoice_pdf_module
from invoicing import rates, totals
from invoicing.ubl import (
    CUSTOMIZATION_ID,
    NS_CREDIT_NOTE,
    NS_INVOICE,
    PROFILE_ID,
    UBL_CONTENT_TYPE,
    invoice_ubl,
    ubl_filename,
)
from tests.invoicing.ubl_helpers import (
    CODICE_FISCALE,
    LEITWEG_ID,
    STRUCTURED_REFERENCE,
    case_id,
    make_sample,
    parse,
    pdf_with_text,
    sample_cases,
    text,
    texts,
)

pytestmark = pytest.mark.django_db
CASES = sample_cases()
VATEX = {"AE": "VATEX-EU-AE", "K": "VATEX-EU-IC", "G": "VATEX-EU-G", "O": "VATEX-EU-O"}


def _ubl(invoice):
    return invoice_ubl(invoice, pdf=pdf_with_text(f"Total {invoice.invoice_number}"))


def _decimal(value) -> Decimal:
    return Decimal(value)


@pytest.mark.parametrize("case", CASES, ids=[case_id(case) for case in CASES])
def test_each_country_type_and_tax_code(administration, owner, case):
    """PEPPOL-EN16931-R001/R004/R007 (profile and customization), P0100/P0101 (type codes), R003 (buyer
    reference), R010/R020 (endpoints), R053 (one tax total), R120 (line net), BR-CO-10/13/15 (totals),
    BR-CO-17 (VAT per category), BR-S-08/BR-Z-08/BR-E-08/BR-AE-08/BR-IC-08/BR-G-08/BR-O-08 (taxable per
    category), BR-S-05/BR-AA-S percent, BR-AE/E/IC/G/O-10 (exemption reasons), BR-S/Z-10 (none),
    BR-O-02/05/09 (no VAT ids, no rate), BR-IC-11/12 (delivery), BR-55 (preceding invoice), BR-61 (IBAN)."""
    country, document_type, codes = case
    invoice = make_sample(administration, owner, country, document_type, codes)
    root = parse(_ubl(invoice))
    credit = document_type == "credit_note"
    line_tag = "cac:CreditNoteLine" if credit else "cac:InvoiceLine"

    # Root, PEPPOL-EN16931-R001/R004/R007, P0100/P0101
    assert root.tag == f"{{{NS_CREDIT_NOTE if credit else NS_INVOICE}}}{'CreditNote' if credit else 'Invoice'}"
    assert text(root, "cbc:CustomizationID") == CUSTOMIZATION_ID
    assert text(root, "cbc:ProfileID") == PROFILE_ID
    type_code = text(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode")
    assert type_code == {"invoice": "380", "credit_note": "381", "debit_note": "383"}[document_type]
    assert text(root, "cbc:DocumentCurrencyCode") == invoice.currency

    # PEPPOL-EN16931-R003: buyer reference (the Leitweg-ID of a German invoice, else the number)
    assert text(root, "cbc:BuyerReference") == (invoice.de_buyer_reference or invoice.invoice_number)

    # PEPPOL-EN16931-R020 / R010 with PEPPOL-EN16931-CL008 schemes
    seller_endpoint = root.find("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", {"cac": _CAC, "cbc": _CBC})
    assert (seller_endpoint.get("schemeID"), seller_endpoint.text) == ("0208", administration.company_number)
    buyer_endpoint = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", {"cac": _CAC, "cbc": _CBC})
    expected = {"IT": "0211", "DE": "9930", "FR": "9957", "ES": "9920", "PT": "9946", "PL": "9945", "RO": "9947",
                "HU": "9910"}  # fmt: skip
    if invoice.de_buyer_reference:
        assert (buyer_endpoint.get("schemeID"), buyer_endpoint.text) == ("0204", LEITWEG_ID)
    else:
        assert buyer_endpoint.get("schemeID") == expected[country]
        assert buyer_endpoint.text == country + invoice.buyer_tax_id

    # BR-6/7 names, BR-8..11 addresses
    assert text(root, "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName")
    assert text(root, "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName") == (
        invoice.buyer_name
    )
    assert text(root, "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode") == (
        country
    )

    # BR-O-02 (no VAT ids with O), else BR-S/Z/E/AE/IC/G-02/03: seller (and buyer) VAT ids with their prefix (BR-CO-09)
    vat_ids = texts(root, "cac:*/cac:Party/cac:PartyTaxScheme/cbc:CompanyID")
    if "O" in codes:
        assert vat_ids == []
    else:
        assert vat_ids == [f"BE{administration.company_number}", f"{country}{invoice.buyer_tax_id}"]

    # Lines: PEPPOL-EN16931-R120 (quantity × price), BR-CO-10 (their sum)
    lines = root.findall(line_tag, {"cac": _CAC})
    assert len(lines) == 2 * len(codes)
    line_amounts = []
    for line in lines:
        quantity = _decimal(text(line, "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity"))
        price = _decimal(text(line, "cac:Price/cbc:PriceAmount"))
        amount = _decimal(text(line, "cbc:LineExtensionAmount"))
        assert amount == totals.money(quantity * price)
        line_amounts.append(amount)
        category = text(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID")
        percent = text(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent")
        assert (percent is None) == (category == "O")  # BR-O-05
    net = _decimal(text(root, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount"))
    assert net == sum(line_amounts)  # BR-CO-10

    # BR-CO-13/15/16 totals, BR-CO-14 VAT total, BR-CO-17 VAT per category, BR-*-08 taxable per category
    vat = _decimal(text(root, "cac:TaxTotal/cbc:TaxAmount"))
    assert len(root.findall("cac:TaxTotal", {"cac": _CAC})) == 1  # PEPPOL-EN16931-R053
    assert _decimal(text(root, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount")) == net
    assert _decimal(text(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount")) == net + vat
    assert _decimal(text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount")) == net + vat
    subtotals = root.findall("cac:TaxTotal/cac:TaxSubtotal", {"cac": _CAC})
    assert sum(_decimal(text(subtotal, "cbc:TaxAmount")) for subtotal in subtotals) == vat
    expected_totals = totals.compute(country, invoice.lines.all())
    assert vat == expected_totals.vat and net == expected_totals.net  # the payload's rounding
    for subtotal, group in zip(subtotals, expected_totals.groups, strict=True):
        category = text(subtotal, "cac:TaxCategory/cbc:ID")
        taxable = _decimal(text(subtotal, "cbc:TaxableAmount"))
        assert category == ("S" if group.tax_code in ("AA", "AB", "AC") else group.tax_code)
        assert taxable == group.taxable
        if category == "O":
            assert text(subtotal, "cac:TaxCategory/cbc:Percent") is None  # BR-O-09
        else:
            percent = _decimal(text(subtotal, "cac:TaxCategory/cbc:Percent"))
            assert percent == rates.rate_for(country, group.tax_code)
            assert _decimal(text(subtotal, "cbc:TaxAmount")) == totals.money(taxable * percent / 100)  # BR-CO-17
        code = text(subtotal, "cac:TaxCategory/cbc:TaxExemptionReasonCode")
        reason = text(subtotal, "cac:TaxCategory/cbc:TaxExemptionReason")
        if category in ("S", "Z"):
            assert code is None and reason is None  # BR-S-10, BR-Z-10
        else:
            assert code == VATEX.get(category)  # BR-AE-10, BR-IC-10, BR-G-10, BR-O-10
            assert code or reason  # BR-E-10: the legal ground as text
            assert _decimal(text(subtotal, "cbc:TaxAmount")) == 0  # BR-AE/IC/G/E/O-09

    # BR-IC-11/12: an intra-community supply's delivery date and country
    if "K" in codes:
        assert text(root, "cac:Delivery/cbc:ActualDeliveryDate") == invoice.issue_date.isoformat()
        assert text(root, "cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode") == country
    else:
        assert root.find("cac:Delivery", {"cac": _CAC}) is None

    # BR-55: a note names its original; an invoice names none
    if document_type == "invoice":
        assert root.find("cac:BillingReference", {"cac": _CAC}) is None
    else:
        reference = "cac:BillingReference/cac:InvoiceDocumentReference/"
        assert text(root, reference + "cbc:ID") == invoice.original_invoice.invoice_number
        assert text(root, reference + "cbc:IssueDate") == invoice.original_invoice.issue_date.isoformat()

    # BR-CO-25 (invoices: due date) and the credit note's PaymentDueDate
    due = text(root, "cac:PaymentMeans/cbc:PaymentDueDate" if credit else "cbc:DueDate")
    assert due == invoice.due_date.isoformat()

    # BR-61: a credit transfer names the IBAN; payment means code 30/58/10; the structured reference
    means_code = text(root, "cac:PaymentMeans/cbc:PaymentMeansCode")
    assert means_code == {"CREDIT_TRANSFER": "30", "SEPA": "58", "CASH": "10"}[invoice.payment_means]
    account = text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID")
    assert account == (invoice.iban if means_code in ("30", "58") else None)
    assert text(root, "cac:PaymentMeans/cbc:PaymentID") == STRUCTURED_REFERENCE


_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def test_embedded_pdf_opens_and_shows_the_totals(administration, owner):
    """BR-52 (a supporting document has an id); the PDF is embedded (BT-125) as application/pdf with a
    filename, opens with pypdf and says the totals the UBL states."""
    invoice = make_sample(administration, owner, "IT", "invoice", ("S", "AA"))
    gross = totals.compute("IT", invoice.lines.all()).gross
    root = parse(invoice_ubl(invoice, pdf=pdf_with_text(f"Total {gross} EUR")))
    reference = root.find("cac:AdditionalDocumentReference", {"cac": _CAC})
    assert text(reference, "cbc:ID") == invoice.invoice_number
    embedded = reference.find("cac:Attachment/cbc:EmbeddedDocumentBinaryObject", {"cac": _CAC, "cbc": _CBC})
    assert embedded.get("mimeCode") == "application/pdf"
    assert embedded.get("filename") == invoice_pdf_module.pdf_filename(invoice)  # the name it downloads under
    document = PdfReader(io.BytesIO(base64.b64decode(embedded.text)))
    assert len(document.pages) == 1
    payable = text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount")
    assert f"Total {payable} EUR" in document.pages[0].extract_text()


def test_without_a_pdf_it_embeds_the_invoices_own(administration, owner, monkeypatch):
    """The contract: with no `pdf`, the invoice's PDF from invoicing.pdf is the one embedded."""
    invoice = make_sample(administration, owner, "FR", "invoice", ("S",))
    asked = []
    monkeypatch.setattr(invoice_pdf_module, "invoice_pdf", lambda inv: asked.append(inv.pk) or b"%PDF-own")
    root = parse(invoice_ubl(invoice))
    assert asked == [invoice.pk]
    assert text(root, "cac:AdditionalDocumentReference/cac:Attachment/cbc:EmbeddedDocumentBinaryObject") == (
        base64.b64encode(b"%PDF-own").decode()
    )


def test_italian_buyer_without_partita_iva_is_addressed_by_codice_fiscale(administration, owner):
    """PEPPOL-EN16931-R010 with EAS 0210 (PEPPOL-COMMON-R045) when the buyer has no Partita IVA."""
    invoice = make_sample(
        administration, owner, "IT", "invoice", ("S",), buyer_tax_id="", buyer_tax_id_country="",
        it_codice_fiscale=CODICE_FISCALE,
    )  # fmt: skip
    root = parse(_ubl(invoice))
    endpoint = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", {"cac": _CAC, "cbc": _CBC})
    assert (endpoint.get("schemeID"), endpoint.text) == ("0210", CODICE_FISCALE)
    assert texts(root, "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID") == []


def test_customer_reference_is_the_buyer_reference(administration, owner):
    """PEPPOL-EN16931-R003: the customer's reference when there is no Leitweg-ID."""
    invoice = make_sample(administration, owner, "PT", "invoice", ("S",), customer_reference="PO-4711")
    assert text(parse(_ubl(invoice)), "cbc:BuyerReference") == "PO-4711"


def test_credit_transfer_without_iban_has_no_payment_means(administration, owner):
    """BR-61: payment means 30/58 need the account; without an IBAN there are no payment instructions."""
    invoice = make_sample(
        administration, owner, "FR", "invoice", ("S",), iban="", bic="", payment_means="CREDIT_TRANSFER"
    )
    root = parse(_ubl(invoice))
    assert root.find("cac:PaymentMeans", {"cac": _CAC}) is None
    assert text(root, "cbc:DueDate") == invoice.due_date.isoformat()  # BR-CO-25 still holds


def test_tax_point_date_dates_the_intra_community_delivery(administration, owner):
    """BR-IC-11 with the VAT point date (BT-7); BR-CO-03 (no invoice period with it)."""
    from datetime import date

    invoice = make_sample(administration, owner, "ES", "credit_note", ("K",), tax_point_date=date(2026, 10, 30))
    root = parse(_ubl(invoice))
    assert text(root, "cbc:TaxPointDate") == "2026-10-30"
    assert text(root, "cac:Delivery/cbc:ActualDeliveryDate") == "2026-10-30"
    assert root.find("cac:InvoicePeriod", {"cac": _CAC}) is None


def test_filename_and_content_type(administration, owner):
    invoice = make_sample(administration, owner, "HU", "invoice", ("S",), invoice_number="2026/0001 A")
    assert ubl_filename(invoice) == "2026-0001-A.xml"
    assert UBL_CONTENT_TYPE == "application/xml"
    assert _ubl(invoice).startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
