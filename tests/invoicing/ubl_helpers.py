"""Sample invoices for the UBL tests and scripts/validate_ubl.py: every destination country, document
type and tax code, with frozen supplier and buyer copies as a submitted invoice has them."""

import io
import itertools
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from invoicing import rates
from invoicing.models import DESTINATION_COUNTRIES, Invoice, InvoiceLine, PaymentMeans
from invoicing.ubl import NAMESPACES
from tests.invoicing.editor_helpers import IBAN, PARTITA_IVA

DOCUMENT_TYPES = ("invoice", "credit_note", "debit_note")
STRUCTURED_REFERENCE = "+++090/9337/55493+++"
LEITWEG_ID = "04011000-12345-03"
CODICE_FISCALE = "RSSMRA85T10A562S"

BUYERS = {
    "IT": {"buyer_name": "Rossi Forniture Srl", "buyer_tax_id": PARTITA_IVA, "buyer_street": "Via Roma 1",
           "buyer_city": "Milano", "buyer_postal_code": "20121", "it_codice_destinatario": "ABC1234"},
    "PL": {"buyer_name": "Kowalski sp. z o.o.", "buyer_tax_id": "5260250274", "buyer_street": "ul. Marszałkowska 1",
           "buyer_city": "Warszawa", "buyer_postal_code": "00-001"},
    "ES": {"buyer_name": "Suministros García SL", "buyer_tax_id": "B58378431", "buyer_street": "Calle Mayor 1",
           "buyer_city": "Madrid", "buyer_postal_code": "28013"},
    "PT": {"buyer_name": "Fornecedora Silva Lda", "buyer_tax_id": "501964843", "buyer_street": "Rua Augusta 1",
           "buyer_city": "Lisboa", "buyer_postal_code": "1100-048"},
    "FR": {"buyer_name": "Dupont Fournitures SARL", "buyer_tax_id": "40303265045", "buyer_street": "1 rue de Rivoli",
           "buyer_city": "Paris", "buyer_postal_code": "75001"},
    "DE": {"buyer_name": "Müller Handel GmbH", "buyer_tax_id": "136695976", "buyer_street": "Unter den Linden 1",
           "buyer_city": "Berlin", "buyer_postal_code": "10117"},
    "RO": {"buyer_name": "Popescu Distribuție SRL", "buyer_tax_id": "18547290", "buyer_street": "Calea Victoriei 1",
           "buyer_city": "București", "buyer_postal_code": "010063"},
    "HU": {"buyer_name": "Nagy Kereskedelmi Kft.", "buyer_tax_id": "12892312", "buyer_street": "Váci utca 1",
           "buyer_city": "Budapest", "buyer_postal_code": "1052"},
}  # fmt: skip

# The exemption reasons a user types; E must have one (invoicing.rules), the others may.
REASONS = {
    "E": "Exempt: article 135(1)(g) of Directive 2006/112/EC",
    "AE": "Reverse charge: article 196 of Directive 2006/112/EC",
    "K": "Intra-community supply: article 138 of Directive 2006/112/EC",
}
# Two lines per code, their amounts chosen to round: 3 × 33.333 = 99.999 → 100.00, 1.5 × 19.99 = 29.985 → 29.99.
LINE_AMOUNTS = ((Decimal("3"), Decimal("33.333"), "EA"), (Decimal("1.5"), Decimal("19.99"), "HUR"))
PAYMENT_MEANS = (PaymentMeans.CREDIT_TRANSFER, PaymentMeans.SEPA, PaymentMeans.CASH)

_numbers = itertools.count(1)


def sample_cases() -> list[tuple[str, str, tuple[str, ...]]]:
    """(country, document type, tax codes): each code alone, and all of a country's codes but O together
    (BR-O-11: outside the scope of VAT stands alone)."""
    cases = []
    for country in DESTINATION_COUNTRIES:
        codes = rates.tax_codes_for(country)
        for document_type in DOCUMENT_TYPES:
            cases += [(country, document_type, (code,)) for code in codes]
            cases.append((country, document_type, tuple(code for code in codes if code != "O")))
    return cases


def case_id(case) -> str:
    country, document_type, codes = case
    return f"{country}-{document_type}-{'+'.join(codes) if len(codes) < 3 else 'mixed'}"


def supplier_fields(administration) -> dict:
    """The supplier's frozen copy, as invoicing.services copies it from tests' complete_profile."""
    return {
        "supplier_name": administration.name,
        "supplier_tax_id": administration.company_number,
        "supplier_tax_id_country": "BE",
        "supplier_street": "Kerkstraat 1",
        "supplier_city": "Gent",
        "supplier_postal_code": "9000",
        "supplier_country": "BE",
    }


def make_sample(administration, author, country, document_type, codes, **fields) -> Invoice:
    """An invoice (credit note, debit note: with its original) to `country`, two lines per code."""
    number = next(_numbers)
    original = None
    if document_type != "invoice":
        original = make_sample(administration, author, country, "invoice", codes)
    values = {
        "document_type": document_type,
        "invoice_number": f"{country}-{document_type[:2].upper()}-{number:04d}",
        "issue_date": date(2026, 11, 2),
        "due_date": date(2026, 12, 2),
        "currency": "PLN" if country == "PL" else "EUR",
        "country": country,
        **supplier_fields(administration),
        **BUYERS[country],
        "buyer_tax_id_country": country,
        "buyer_country": country,
        "iban": IBAN,
        "bic": "GEBABEBB",
        "payment_means": PAYMENT_MEANS[number % len(PAYMENT_MEANS)],
        "payment_reference": STRUCTURED_REFERENCE,
        "original_invoice": original,
        "de_buyer_reference": LEITWEG_ID if country == "DE" and document_type != "credit_note" else "",
        "status": Invoice.Status.ACCEPTED,
    }
    invoice = Invoice.objects.create(administration=administration, author=author, **(values | fields))
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            description=f"{code} item {n}",
            quantity=quantity,
            unit=unit,
            unit_price=price,
            tax_code=code,
            exemption_reason=REASONS.get(code, ""),
        )
        for position, (code, (n, (quantity, price, unit))) in enumerate(
            ((code, amount) for code in codes for amount in enumerate(LINE_AMOUNTS, 1)), 1
        )
    )
    return invoice


def pdf_with_text(text: str) -> bytes:
    """A one-page PDF whose text layer says `text` (the real PDF is the PDF work's)."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
    )
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 12 Tf 72 770 Td ({text}) Tj ET".encode("latin-1"))
    page.replace_contents(content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def parse(ubl: bytes) -> ET.Element:
    return ET.fromstring(ubl)  # noqa: S314 (our own output)


def texts(root: ET.Element, path: str) -> list[str]:
    return [element.text or "" for element in root.findall(path, NAMESPACES)]


def text(root: ET.Element, path: str) -> str | None:
    element = root.find(path, NAMESPACES)
    return None if element is None else element.text


# Samples beyond one per case: the other ways a buyer is addressed and a payment is (not) described.
EXTRA_SAMPLES = {
    "IT-invoice-S-codice-fiscale": {
        "case": ("IT", "invoice", ("S",)),
        "buyer_tax_id": "",
        "buyer_tax_id_country": "",
        "it_codice_fiscale": CODICE_FISCALE,
    },
    "FR-invoice-S-no-iban": {"case": ("FR", "invoice", ("S",)), "iban": "", "bic": "", "payment_reference": ""},
    "ES-credit_note-K-tax-point": {"case": ("ES", "credit_note", ("K",)), "tax_point_date": date(2026, 10, 30)},
    "PT-invoice-S-customer-reference": {"case": ("PT", "invoice", ("S",)), "customer_reference": "PO-4711"},
}
