"""The Peppol BIS Billing 3.0 UBL of an invoice: one mapping module, from the same data as the payload.

CONTRACT (filled in by the UBL work):
- `invoice_ubl(invoice, *, pdf=None) -> bytes`: a UBL 2.1 Invoice (invoices and debit notes, type
  codes 380 and 383) or CreditNote (credit notes, 381) following Peppol BIS Billing 3.0, UTF-8, with
  the invoice's PDF (`pdf`, else `invoicing.pdf.invoice_pdf`, in the invoice's language) embedded as
  an AdditionalDocumentReference. Built from the frozen invoice (supplier_* and buyer_* copies, its
  lines, `invoicing.totals`), like `invoicing.payload`.
- `UBL_CONTENT_TYPE`, `ubl_filename(invoice) -> str`: what a download or an upload calls it.
Each business rule it satisfies has a test naming the EN16931 (BR-*) or PEPPOL-EN16931-* rule id
(tests/invoicing/test_ubl.py); scripts/validate_ubl.py runs the official artefacts (docs/ubl.md).

Choices the standards leave to us (docs/ubl.md explains each):
- Clearvo's reduced rates AA, AB and AC are EN16931 category S with their own percent; the other
  codes are the EN16931 categories of the same letter. O carries no percent and, as BR-O-02 wants,
  no VAT identifier of either party.
- The seller's electronic address is its Belgian enterprise number (EAS 0208). The buyer's is, in
  this order: the Leitweg-ID (0204) of a German invoice, the buyer's VAT number in the scheme of the
  country that registered it (IT 0211 Partita IVA, DE 9930, FR 9957, ES 9920, PT 9946, PL 9945,
  RO 9947, HU 9910, ...), the codice fiscale (0210) of an Italian buyer without one.
- BuyerReference (PEPPOL-EN16931-R003): the Leitweg-ID, else the customer's reference, else the
  invoice number.
- Exempt categories carry the VATEX code where one code fits the whole category (AE, K, G, O) and
  the lines' own exemption reasons as text (E's legal ground).
"""

import base64
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

from invoicing import pdf as pdfs
from invoicing import rates
from invoicing import totals as invoice_totals
from invoicing.identifiers import VAT_PREFIXES
from invoicing.models import DestinationCountry, PaymentMeans, TaxCode
from portal.companies import compact_company_number

UBL_CONTENT_TYPE = "application/xml"

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NAMESPACES = {"cac": NS_CAC, "cbc": NS_CBC}

INVOICE_TYPE_CODES = {"invoice": "380", "debit_note": "383"}
CREDIT_NOTE_TYPE_CODE = "381"

# Clearvo's tax codes as EN16931 VAT categories (UNCL5305): the reduced rates are all "standard".
CATEGORY = {TaxCode.AA: "S", TaxCode.AB: "S", TaxCode.AC: "S"}
# Exemption reason codes (CEF VATEX) where one code says it for the whole category.
VATEX = {"AE": "VATEX-EU-AE", "K": "VATEX-EU-IC", "G": "VATEX-EU-G", "O": "VATEX-EU-O"}
# Categories whose breakdown must give a reason (BR-AE-10, BR-IC-10, BR-G-10, BR-E-10, BR-O-10);
# S and Z must not (BR-S-10, BR-Z-10).
EXEMPT = {"AE", "K", "G", "E", "O"}

# Electronic address schemes (EAS code list, Peppol 2025): a VAT number per country that registered it.
SELLER_EAS = "0208"  # Belgian enterprise number
LEITWEG_EAS = "0204"
CODICE_FISCALE_EAS = "0210"
VAT_EAS = {
    "IT": "0211",  # Partita IVA
    "DE": "9930",
    "FR": "9957",
    "ES": "9920",
    "PT": "9946",
    "PL": "9945",
    "RO": "9947",
    "HU": "9910",
    "BE": "9925",
    "NL": "9944",
    "AT": "9915",
    "LU": "9938",
}

PAYMENT_MEANS_CODES = {
    PaymentMeans.CREDIT_TRANSFER: "30",
    PaymentMeans.SEPA: "58",
    PaymentMeans.CASH: "10",
}
TRANSFERS = {PaymentMeans.CREDIT_TRANSFER, PaymentMeans.SEPA}

UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")

ET.register_namespace("cac", NS_CAC)
ET.register_namespace("cbc", NS_CBC)


def invoice_ubl(invoice, *, pdf: bytes | None = None) -> bytes:
    if pdf is None:
        pdf = pdfs.invoice_pdf(invoice)
    return _UblBuilder(invoice, pdf).build()


def ubl_filename(invoice) -> str:
    return f"{_safe_name(invoice.invoice_number)}.xml"


def _safe_name(number: str) -> str:
    return UNSAFE_IN_FILENAME.sub("-", number).strip("-.") or "invoice"


def category_of(tax_code: str) -> str:
    return CATEGORY.get(tax_code, tax_code)


def vat_identifier(tax_id: str, country: str) -> str:
    """The VAT identifier with its country prefix (BR-CO-09): Greece's is EL."""
    prefix = VAT_PREFIXES.get(country, country)
    return tax_id if tax_id[:2].upper() == prefix else f"{prefix}{tax_id}"


def buyer_endpoint(invoice) -> tuple[str, str] | None:
    """(scheme, value) of the buyer's electronic address, or None when the invoice holds none."""
    if invoice.country == DestinationCountry.DE and invoice.de_buyer_reference:
        return LEITWEG_EAS, invoice.de_buyer_reference
    country = invoice.buyer_tax_id_country or invoice.buyer_country
    if invoice.buyer_tax_id and country in VAT_EAS:
        return VAT_EAS[country], vat_identifier(invoice.buyer_tax_id, country)
    if invoice.country == DestinationCountry.IT and invoice.it_codice_fiscale:
        return CODICE_FISCALE_EAS, invoice.it_codice_fiscale
    return None


def seller_company_number(invoice) -> str:
    if invoice.supplier_tax_id and invoice.supplier_tax_id_country == "BE":
        return compact_company_number(invoice.supplier_tax_id)
    return compact_company_number(invoice.administration.company_number)


def buyer_reference(invoice) -> str:
    return invoice.de_buyer_reference or invoice.customer_reference or invoice.invoice_number


def _amount(value: Decimal) -> str:
    return str(invoice_totals.money(value))


def _number(value) -> str:
    """A quantity or price as written: no exponent, no trailing zeros (100, 2.5)."""
    return format(Decimal(str(value)).normalize(), "f")


class _UblBuilder:
    def __init__(self, invoice, pdf: bytes):
        self.invoice = invoice
        self.pdf = pdf
        self.lines = list(invoice.lines.all())
        self.totals = invoice_totals.compute(invoice.country, self.lines)
        self.credit_note = invoice.document_type == "credit_note"
        self.currency = invoice.currency
        # BR-O-02: an invoice outside the scope of VAT names no VAT identifier of either party.
        self.outside_scope = any(line.tax_code == TaxCode.O for line in self.lines)

    # --- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _add(parent, tag: str, text=None, **attributes):
        prefix, name = tag.split(":")
        element = ET.SubElement(parent, f"{{{NAMESPACES[prefix]}}}{name}", attributes)
        if text is not None:
            element.text = str(text)
        return element

    def _money(self, parent, tag: str, value: Decimal):
        return self._add(parent, tag, _amount(value), currencyID=self.currency)

    # --- the document --------------------------------------------------------------------------

    def build(self) -> bytes:
        invoice = self.invoice
        # ElementTree writes no default namespace next to unqualified attributes (currencyID...): the
        # root declares it itself, so that the document reads <Invoice xmlns="...Invoice-2">.
        namespace = NS_CREDIT_NOTE if self.credit_note else NS_INVOICE
        root = ET.Element(self._root_name(), {"xmlns": namespace})
        self._add(root, "cbc:CustomizationID", CUSTOMIZATION_ID)
        self._add(root, "cbc:ProfileID", PROFILE_ID)
        self._add(root, "cbc:ID", invoice.invoice_number)
        self._add(root, "cbc:IssueDate", invoice.issue_date.isoformat())
        if self.credit_note:
            # UBL 2.1's CreditNote has no DueDate: it goes into PaymentMeans (PaymentDueDate).
            if invoice.tax_point_date:
                self._add(root, "cbc:TaxPointDate", invoice.tax_point_date.isoformat())
            self._add(root, "cbc:CreditNoteTypeCode", CREDIT_NOTE_TYPE_CODE)
        else:
            if invoice.due_date:
                self._add(root, "cbc:DueDate", invoice.due_date.isoformat())
            self._add(root, "cbc:InvoiceTypeCode", INVOICE_TYPE_CODES[invoice.document_type])
            if invoice.tax_point_date:
                self._add(root, "cbc:TaxPointDate", invoice.tax_point_date.isoformat())
        self._add(root, "cbc:DocumentCurrencyCode", self.currency)
        self._add(root, "cbc:BuyerReference", buyer_reference(invoice))
        self._billing_reference(root)
        self._attachment(root)
        self._supplier(root)
        self._customer(root)
        self._delivery(root)
        self._payment_means(root)
        self._tax_total(root)
        self._monetary_total(root)
        for position, (line, amount) in enumerate(zip(self.lines, self.totals.lines, strict=True), 1):
            self._line(root, position, line, amount)
        ET.indent(root)
        return ET.tostring(root, encoding="UTF-8", xml_declaration=True)

    def _root_name(self) -> str:
        return "CreditNote" if self.credit_note else "Invoice"

    def _billing_reference(self, root):
        """BR-55: a credit or debit note names the invoice it corrects (BT-25, BT-26)."""
        invoice = self.invoice
        original = invoice.original_invoice if invoice.is_note and invoice.original_invoice_id else None
        if original is None:
            return
        reference = self._add(self._add(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        self._add(reference, "cbc:ID", original.invoice_number)
        self._add(reference, "cbc:IssueDate", original.issue_date.isoformat())

    def _attachment(self, root):
        reference = self._add(root, "cac:AdditionalDocumentReference")
        self._add(reference, "cbc:ID", self.invoice.invoice_number)
        attachment = self._add(reference, "cac:Attachment")
        self._add(
            attachment,
            "cbc:EmbeddedDocumentBinaryObject",
            base64.b64encode(self.pdf).decode("ascii"),
            mimeCode="application/pdf",
            filename=pdfs.pdf_filename(self.invoice),
        )

    # --- parties -------------------------------------------------------------------------------

    def _address(self, party, role: str):
        def field(name):
            return getattr(self.invoice, f"{role}_{name}")

        address = self._add(party, "cac:PostalAddress")
        if field("street"):
            self._add(address, "cbc:StreetName", field("street"))
        self._add(address, "cbc:CityName", field("city"))
        if field("postal_code"):
            self._add(address, "cbc:PostalZone", field("postal_code"))
        self._add(self._add(address, "cac:Country"), "cbc:IdentificationCode", field("country"))

    def _vat_scheme(self, party, tax_id: str, country: str):
        if not tax_id or self.outside_scope:
            return
        scheme = self._add(party, "cac:PartyTaxScheme")
        self._add(scheme, "cbc:CompanyID", vat_identifier(tax_id, country))
        self._add(self._add(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")

    def _supplier(self, root):
        invoice = self.invoice
        party = self._add(self._add(root, "cac:AccountingSupplierParty"), "cac:Party")
        company_number = seller_company_number(invoice)
        self._add(party, "cbc:EndpointID", company_number, schemeID=SELLER_EAS)
        self._address(party, "supplier")
        self._vat_scheme(party, invoice.supplier_tax_id, invoice.supplier_tax_id_country or invoice.supplier_country)
        legal = self._add(party, "cac:PartyLegalEntity")
        self._add(legal, "cbc:RegistrationName", invoice.supplier_name)
        self._add(legal, "cbc:CompanyID", company_number, schemeID=SELLER_EAS)

    def _customer(self, root):
        invoice = self.invoice
        party = self._add(self._add(root, "cac:AccountingCustomerParty"), "cac:Party")
        endpoint = buyer_endpoint(invoice)
        if endpoint:
            scheme, value = endpoint
            self._add(party, "cbc:EndpointID", value, schemeID=scheme)
        self._address(party, "buyer")
        self._vat_scheme(party, invoice.buyer_tax_id, invoice.buyer_tax_id_country or invoice.buyer_country)
        legal = self._add(party, "cac:PartyLegalEntity")
        self._add(legal, "cbc:RegistrationName", invoice.buyer_name)
        if invoice.country == DestinationCountry.IT and invoice.it_codice_fiscale:
            self._add(legal, "cbc:CompanyID", invoice.it_codice_fiscale, schemeID=CODICE_FISCALE_EAS)

    def _delivery(self, root):
        """BR-IC-11/12: an intra-community supply states when and to which country it was delivered."""
        if not any(group.tax_code == TaxCode.K for group in self.totals.groups):
            return
        invoice = self.invoice
        delivery = self._add(root, "cac:Delivery")
        self._add(delivery, "cbc:ActualDeliveryDate", (invoice.tax_point_date or invoice.issue_date).isoformat())
        address = self._add(self._add(delivery, "cac:DeliveryLocation"), "cac:Address")
        self._add(self._add(address, "cac:Country"), "cbc:IdentificationCode", invoice.buyer_country)

    # --- payment -------------------------------------------------------------------------------

    def _payment_means(self, root):
        invoice = self.invoice
        means = invoice.payment_means
        if means in TRANSFERS and not invoice.iban:
            return  # BR-61: a transfer names the account; without one, no payment instructions at all
        payment = self._add(root, "cac:PaymentMeans")
        self._add(payment, "cbc:PaymentMeansCode", PAYMENT_MEANS_CODES.get(means, "1"))
        if self.credit_note and invoice.due_date:
            self._add(payment, "cbc:PaymentDueDate", invoice.due_date.isoformat())
        if invoice.payment_reference:
            self._add(payment, "cbc:PaymentID", invoice.payment_reference)
        if means in TRANSFERS:
            account = self._add(payment, "cac:PayeeFinancialAccount")
            self._add(account, "cbc:ID", invoice.iban)
            if invoice.bic:
                self._add(self._add(account, "cac:FinancialInstitutionBranch"), "cbc:ID", invoice.bic)

    # --- VAT and totals ------------------------------------------------------------------------

    def _tax_category(self, parent, tag: str, tax_code: str, rate: Decimal, reasons=()):
        category = self._add(parent, tag)
        code = category_of(tax_code)
        self._add(category, "cbc:ID", code)
        if code != "O":  # BR-O-05/09: no rate outside the scope of VAT
            self._add(category, "cbc:Percent", _number(rate))
        if tag == "cac:TaxCategory" and code in EXEMPT:
            if code in VATEX:
                self._add(category, "cbc:TaxExemptionReasonCode", VATEX[code])
            if reasons:
                self._add(category, "cbc:TaxExemptionReason", "; ".join(reasons))
        self._add(self._add(category, "cac:TaxScheme"), "cbc:ID", "VAT")
        return category

    def _reasons(self, tax_code: str) -> list[str]:
        reasons = []
        for line in self.lines:
            reason = line.exemption_reason.strip()
            if line.tax_code == tax_code and reason and reason not in reasons:
                reasons.append(reason)
        return reasons

    def _tax_total(self, root):
        tax_total = self._add(root, "cac:TaxTotal")
        self._money(tax_total, "cbc:TaxAmount", self.totals.vat)
        for group in self.totals.groups:
            subtotal = self._add(tax_total, "cac:TaxSubtotal")
            self._money(subtotal, "cbc:TaxableAmount", group.taxable)
            self._money(subtotal, "cbc:TaxAmount", group.vat)
            self._tax_category(subtotal, "cac:TaxCategory", group.tax_code, group.rate, self._reasons(group.tax_code))

    def _monetary_total(self, root):
        totals = self.totals
        monetary = self._add(root, "cac:LegalMonetaryTotal")
        self._money(monetary, "cbc:LineExtensionAmount", totals.net)
        self._money(monetary, "cbc:TaxExclusiveAmount", totals.net)
        self._money(monetary, "cbc:TaxInclusiveAmount", totals.gross)
        self._money(monetary, "cbc:PayableAmount", totals.gross)

    def _line(self, root, position: int, line, amount: Decimal):
        name = "CreditNote" if self.credit_note else "Invoice"
        element = self._add(root, f"cac:{name}Line")
        self._add(element, "cbc:ID", position)
        quantity = "cbc:CreditedQuantity" if self.credit_note else "cbc:InvoicedQuantity"
        self._add(element, quantity, _number(line.quantity), unitCode=line.unit or "EA")
        self._money(element, "cbc:LineExtensionAmount", amount)
        item = self._add(element, "cac:Item")
        self._add(item, "cbc:Name", line.description)
        rate = rates.rate_for(self.invoice.country, line.tax_code)
        self._tax_category(item, "cac:ClassifiedTaxCategory", line.tax_code, rate)
        price = self._add(element, "cac:Price")
        self._add(price, "cbc:PriceAmount", _number(line.unit_price), currencyID=self.currency)
