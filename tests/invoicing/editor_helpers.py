"""What the editor's tests share: a complete invoicing profile, and the form as a browser posts it."""

from datetime import date
from decimal import Decimal

from invoicing.models import Invoice, InvoiceLine, InvoicingProfile

# A valid Partita IVA (check digit and office code), unlike the spec's own examples.
PARTITA_IVA = "00743110157"
IBAN = "BE71096123456769"


def complete_profile(administration, **fields) -> InvoicingProfile:
    """The profile Clearvo needs, written directly (its own pages are the profile work's)."""
    values = {
        "legal_name": administration.name,
        "tax_id": administration.company_number,
        "tax_id_country": "BE",
        "street": "Kerkstraat 1",
        "city": "Gent",
        "postal_code": "9000",
        "country": "BE",
        "iban": IBAN,
        "bic": "GEBABEBB",
        "payment_terms_days": 30,
        "number_pattern": "{YYYY}-{NNNN}",
    }
    return InvoicingProfile.objects.create(administration=administration, **(values | fields))


INVOICE_FIELDS = {
    "document_type": "invoice",
    "invoice_number": "",
    "issue_date": "2026-03-02",
    "tax_point_date": "",
    "due_date": "",
    "currency": "EUR",
    "country": "IT",
    "original_invoice": "",
    "buyer": "",
    "buyer_name": "Cliente SpA",
    "buyer_tax_id": f"IT {PARTITA_IVA}",
    "buyer_tax_id_country": "IT",
    "buyer_street": "Via Veneto 10",
    "buyer_city": "Roma",
    "buyer_postal_code": "00187",
    "buyer_country": "IT",
    "iban": IBAN,
    "bic": "GEBABEBB",
    "payment_means": "CREDIT_TRANSFER",
    "payment_reference": "",
    "customer_reference": "",
    "language": "en",
    "it_codice_fiscale": "",
    "it_codice_destinatario": "ABC1234",
    "it_pec_destinatario": "",
    "de_buyer_reference": "",
    "buyer_query": "",
}

LINE = {"description": "Software licence Q1", "quantity": "1", "unit": "EA", "unit_price": "1000", "tax_code": "S"}


def form_data(*, action="save", lines=(LINE,), initial=0, version="", **fields) -> dict:
    """The editor's POST body: the invoice's fields, its lines (dicts; an "id" for saved ones) and the management form."""
    data = INVOICE_FIELDS | {"action": action, "version": version} | fields
    data |= {
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(initial),
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, line in enumerate(lines):
        for name, value in line.items():
            data[f"lines-{index}-{name}"] = value
    return data


def edit_data(invoice: Invoice, *, action="save", **fields) -> dict:
    """The edit form of `invoice` as the page gives it, posted back with `fields` changed."""
    lines = [
        {
            "id": str(line.pk),
            "invoice": str(invoice.pk),
            "description": line.description,
            "quantity": str(line.quantity),
            "unit": line.unit,
            "unit_price": str(line.unit_price),
            "tax_code": line.tax_code,
            "exemption_reason": line.exemption_reason,
        }
        for line in invoice.lines.all()
    ]
    values = {name: _text(getattr(invoice, name)) for name in INVOICE_FIELDS if name not in ("buyer_query",)}
    values["original_invoice"] = _text(invoice.original_invoice_id)
    values["buyer"] = _text(invoice.buyer_id)
    return form_data(
        action=action,
        lines=fields.pop("lines", lines),
        initial=len(lines),
        version=str(fields.pop("version", invoice.version)),
        **(values | fields),
    )


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def make_invoice(administration, author, *, number="2026-0001", lines=1, **fields) -> Invoice:
    """A draft to Italy with `lines` lines of 1 × 100.00 at the standard rate."""
    values = {
        "document_type": Invoice.DocumentType.INVOICE,
        "invoice_number": number,
        "issue_date": date(2026, 3, 2),
        "currency": "EUR",
        "country": "IT",
        "supplier_name": administration.name,
        "buyer_name": "Cliente SpA",
        "buyer_tax_id": PARTITA_IVA,
        "buyer_tax_id_country": "IT",
        "buyer_city": "Roma",
        "buyer_country": "IT",
    }
    invoice = Invoice.objects.create(administration=administration, author=author, **(values | fields))
    for position in range(1, lines + 1):
        InvoiceLine.objects.create(
            invoice=invoice,
            position=position,
            description=f"Line {position}",
            quantity=Decimal("1"),
            unit_price=Decimal("100"),
            tax_code="S",
        )
    return invoice
