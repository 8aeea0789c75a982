"""Helpers (no tests) for the rules and payload tests: a valid invoice for each destination country.

The supplier is a Belgian administration, as in the portal; the buyers' tax ids are real-looking
numbers that pass python-stdnum (the same ones the sandbox's own tests use). `draft()` and `line()`
build unsaved rows for invoicing.rules; `saved_invoice()` saves an invoice and its lines, which
invoicing.payload reads through `invoice.lines`.
"""

from datetime import date
from decimal import Decimal

from invoicing.models import Invoice, InvoiceLine

SUPPLIER = {
    "supplier_name": "Bakkerij Janssens BV",
    "supplier_tax_id": "0403170701",
    "supplier_tax_id_country": "BE",
    "supplier_street": "Kerkstraat 1",
    "supplier_city": "Gent",
    "supplier_postal_code": "9000",
    "supplier_country": "BE",
}

# country: (name, tax id, street, city, postal code)
BUYERS = {
    "IT": ("Cliente SpA", "09876540585", "Via Veneto 10", "Roma", "00187"),
    "PL": ("Nabywca S.A.", "5260250274", "ul. Marszałkowska 10", "Warszawa", "00-590"),
    "ES": ("Cliente SA", "A58818501", "Calle Mayor 5", "Madrid", "28013"),
    "PT": ("Cliente SA", "500100144", "Rua Augusta 20", "Lisboa", "1100-053"),
    "FR": ("Client SA", "44732829320", "1 rue de la Paix", "Paris", "75002"),
    "DE": ("Kunde AG", "811569869", "Marienplatz 1", "München", "80331"),
    "RO": ("Client SA", "14399840", "Strada Memorandumului 1", "Cluj-Napoca", "400114"),
    "HU": ("Vevő Zrt.", "10597190", "Piac utca 1", "Debrecen", "4024"),
}
COUNTRIES = list(BUYERS)
CURRENCIES = {"PL": "PLN"}
# What only some countries have: Italy's SDI routing, Germany's Leitweg-ID, a rate only Italy has.
COUNTRY_EXTRAS = {
    "IT": {"it_codice_destinatario": "KRRH6B9", "it_pec_destinatario": "fatture@pec.cliente.it"},
    "DE": {"de_buyer_reference": "04011000-12345-34"},
}


def invoice_fields(destination: str = "IT", **changes) -> dict:
    """A valid invoice to `destination` (one of COUNTRIES), with `changes` applied."""
    country = destination
    name, tax_id, street, city, postal_code = BUYERS[country]
    fields = {
        "document_type": Invoice.DocumentType.INVOICE,
        "invoice_number": f"2026-{country}-0001",
        "issue_date": date(2026, 1, 15),
        "due_date": date(2026, 2, 14),
        "currency": CURRENCIES.get(country, "EUR"),
        "country": country,
        **SUPPLIER,
        "buyer_name": name,
        "buyer_tax_id": tax_id,
        "buyer_tax_id_country": country,
        "buyer_street": street,
        "buyer_city": city,
        "buyer_postal_code": postal_code,
        "buyer_country": country,
        "iban": "BE71096123456769",
        "bic": "GEBABEBB",
        "payment_reference": f"2026-{country}-0001",
        **COUNTRY_EXTRAS.get(country, {}),
    }
    return fields | changes


def line_fields(**changes) -> dict:
    fields = {
        "description": "Consulting",
        "quantity": Decimal("7.5"),
        "unit": "HUR",
        "unit_price": Decimal("95.50"),
        "tax_code": "S",
        "exemption_reason": "",
    }
    return fields | changes


def lines_for(country: str) -> list[dict]:
    """A standard-rate line, a reduced-rate one, a reverse-charge one; Italy's super-reduced rate too."""
    lines = [
        line_fields(),
        line_fields(description="Bread", quantity=Decimal("12"), unit="EA", unit_price=Decimal("2.35"), tax_code="AA"),
        line_fields(description="Software licence", quantity=Decimal("1"), unit="EA", unit_price=1000, tax_code="AE"),
    ]
    if country == "IT":
        lines.append(line_fields(description="Pane", quantity=Decimal("0.125"), unit="KGM", tax_code="AC"))
    return lines


def draft(destination: str = "IT", **changes) -> Invoice:
    """An unsaved, valid invoice (no administration: the rules need none unless it is a note)."""
    return Invoice(**invoice_fields(destination, **changes))


def line(**changes) -> InvoiceLine:
    return InvoiceLine(**line_fields(**changes))


def saved_invoice(administration, author, destination: str = "IT", *, lines=None, **changes) -> Invoice:
    """An invoice with its lines, saved; `lines` is a list of InvoiceLine field dicts (lines_for(destination) when None)."""
    invoice = Invoice.objects.create(
        administration=administration, author=author, **invoice_fields(destination, **changes)
    )
    for position, fields in enumerate(lines_for(destination) if lines is None else lines):
        InvoiceLine.objects.create(invoice=invoice, position=position, **fields)
    return invoice
