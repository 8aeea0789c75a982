"""invoicing.payload: Clearvo's POST /invoices body, against the spec's Quickstart example field by field."""

import json
import re
from datetime import date
from decimal import Decimal

import pytest

from invoicing.models import Invoice, InvoiceLine
from invoicing.payload import field_for_path, invoice_payload, payload_bytes
from tests.invoicing.rules_examples import line_fields, saved_invoice
from tests.sandbox.clearvo_support import QUICKSTART_BODY


def leaves(value, path=""):
    """(path, value) of every leaf in document order: "supplier.address.city", "lines[1].quantity"."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]")
    else:
        yield path, value


# --- The spec's Quickstart example --------------------------------------------------------------

QUICKSTART = json.loads(QUICKSTART_BODY, parse_float=Decimal)


@pytest.fixture
def quickstart(administration, member):
    """The Quickstart's Italian invoice (clearvo-api.txt), as the portal stores it."""
    invoice = Invoice.objects.create(
        administration=administration,
        author=member,
        document_type="invoice",
        invoice_number="INV-2024-001",
        issue_date=date(2024, 1, 15),
        currency="EUR",
        country="IT",
        supplier_name="Acme SRL",
        supplier_tax_id="01234567890",
        supplier_tax_id_country="IT",
        supplier_street="Via Roma 1",
        supplier_city="Milano",
        supplier_postal_code="20121",
        supplier_country="IT",
        buyer_name="Cliente SpA",
        buyer_tax_id="09876543210",
        buyer_tax_id_country="IT",
        buyer_street="Via Veneto 10",
        buyer_city="Roma",
        buyer_postal_code="00187",
        buyer_country="IT",
    )
    invoice.lines.create(
        position=0,
        description="Software licence Q1",
        quantity=Decimal("1"),
        unit_price=Decimal("1000.00"),
        tax_code="S",
    )
    invoice.lines.create(
        position=1, description="Support hours", quantity=Decimal("8"), unit_price=Decimal("125.00"), tax_code="S"
    )
    return invoice


@pytest.mark.parametrize(("path", "expected"), list(leaves(QUICKSTART)), ids=[path for path, _ in leaves(QUICKSTART)])
def test_the_quickstart_invoice_gives_the_examples_value_for_each_field(quickstart, path, expected):
    assert dict(leaves(invoice_payload(quickstart)))[path] == expected


def test_the_quickstart_invoice_gives_exactly_the_examples_fields_in_its_order(quickstart):
    assert [path for path, _ in leaves(invoice_payload(quickstart))] == [path for path, _ in leaves(QUICKSTART)]


def test_the_bytes_are_the_payload_as_utf8_json_with_whole_numbers_as_integers(quickstart):
    body = payload_bytes(quickstart)

    assert json.loads(body) == invoice_payload(quickstart)
    assert json.loads(body, parse_float=Decimal) == QUICKSTART
    assert b'"quantity": 1,' in body and b'"unitPrice": 1000,' in body
    assert b'"quantity": 8,' in body and b'"unitPrice": 125,' in body


def test_the_same_invoice_gives_the_same_bytes(quickstart):
    assert payload_bytes(quickstart) == payload_bytes(Invoice.objects.get(pk=quickstart.pk))


# --- A full invoice -----------------------------------------------------------------------------


def test_a_full_invoice_sends_every_field_in_the_order_of_the_spec(administration, member):
    lines = [
        line_fields(),
        line_fields(description="Brood", quantity=Decimal("12"), unit="EA", unit_price=Decimal("2.35"), tax_code="AA"),
        line_fields(description="Medical advice", unit="EA", tax_code="E", exemption_reason="Art. 10 DPR 633/72"),
    ]
    invoice = saved_invoice(
        administration,
        member,
        "IT",
        lines=lines,
        tax_point_date=date(2026, 1, 14),
        customer_reference="PO-778",
        payment_means="SEPA",
        it_codice_fiscale="RSSMRA85T10A562S",
    )

    expected = {
        "documentType": "invoice",
        "invoiceNumber": "2026-IT-0001",
        "issueDate": "2026-01-15",
        "taxPointDate": "2026-01-14",
        "dueDate": "2026-02-14",
        "currency": "EUR",
        "country": "IT",
        "supplier": {
            "name": "Bakkerij Janssens BV",
            "taxId": "0403170701",
            "taxIdCountry": "BE",
            "address": {"street": "Kerkstraat 1", "city": "Gent", "postalCode": "9000", "country": "BE"},
        },
        "buyer": {
            "name": "Cliente SpA",
            "taxId": "09876540585",
            "taxIdCountry": "IT",
            "address": {"street": "Via Veneto 10", "city": "Roma", "postalCode": "00187", "country": "IT"},
        },
        "lines": [
            {"description": "Consulting", "quantity": 7.5, "unitPrice": 95.5, "taxCode": "S", "unit": "HUR"},
            {"description": "Brood", "quantity": 12, "unitPrice": 2.35, "taxCode": "AA"},
            {
                "description": "Medical advice",
                "quantity": 7.5,
                "unitPrice": 95.5,
                "taxCode": "E",
                "exemptionReason": "Art. 10 DPR 633/72",
            },
        ],
        "payment": {
            "iban": "BE71096123456769",
            "bic": "GEBABEBB",
            "paymentMeans": "SEPA",
            "paymentReference": "2026-IT-0001",
        },
        "customerReference": "PO-778",
        "countryData": {
            "it": {
                "codiceFiscale": "RSSMRA85T10A562S",
                "codiceDestinatario": "KRRH6B9",
                "pecDestinatario": "fatture@pec.cliente.it",
            }
        },
    }
    assert list(leaves(invoice_payload(invoice))) == list(leaves(expected))


def test_non_ascii_text_is_sent_as_utf8(administration, member):
    body = payload_bytes(saved_invoice(administration, member, "DE"))

    assert "München".encode() in body
    assert b"\\u" not in body


# --- Numbers ------------------------------------------------------------------------------------

NUMBERS = [
    ("1.000000", "1"),
    ("1000.00", "1000"),
    ("0", "0"),
    ("0.5", "0.5"),
    ("0.1", "0.1"),
    ("2.35", "2.35"),
    ("7.123456", "7.123456"),
    ("0.000001", "1e-06"),  # a JSON number all the same; Clearvo reads 6 decimals
    ("999999999.999999", "999999999.999999"),  # the models' largest: 15 significant digits
    ("123456789.000001", "123456789.000001"),
]


@pytest.mark.parametrize(("stored", "sent"), NUMBERS)
def test_quantities_and_prices_are_exact_json_numbers(administration, member, stored, sent):
    lines = [line_fields(quantity=Decimal(stored), unit_price=Decimal(stored))]
    body = payload_bytes(saved_invoice(administration, member, lines=lines))

    assert re.search(rb'"quantity": ([^,\n]+)', body)[1].decode() == sent
    assert re.search(rb'"unitPrice": ([^,\n]+)', body)[1].decode() == sent
    [sent_line] = json.loads(body, parse_float=Decimal, parse_int=Decimal)["lines"]
    assert sent_line["quantity"] == sent_line["unitPrice"] == Decimal(stored)


# --- Optional fields: left out when empty -------------------------------------------------------


def payload_of(administration, member, destination="IT", lines=None, **changes) -> dict:
    return invoice_payload(saved_invoice(administration, member, destination, lines=lines, **changes))


@pytest.mark.parametrize(
    ("changes", "payment"),
    [
        ({"iban": "", "bic": "", "payment_reference": ""}, None),
        ({"iban": "", "bic": "", "payment_reference": "", "payment_means": "CASH"}, {"paymentMeans": "CASH"}),
        ({"bic": "", "payment_reference": ""}, {"iban": "BE71096123456769", "paymentMeans": "CREDIT_TRANSFER"}),
        ({"iban": "", "bic": ""}, {"paymentMeans": "CREDIT_TRANSFER", "paymentReference": "2026-IT-0001"}),
    ],
)
def test_payment_is_sent_when_it_says_something_beyond_the_default_means(administration, member, changes, payment):
    assert payload_of(administration, member, **changes).get("payment") == payment


def test_a_tax_id_country_goes_only_with_a_tax_id_and_an_empty_street_is_left_out(administration, member):
    buyer = payload_of(administration, member, buyer_tax_id="", buyer_street="", buyer_postal_code="")["buyer"]
    assert buyer == {"name": "Cliente SpA", "address": {"city": "Roma", "country": "IT"}}


def test_the_unit_is_left_out_when_it_is_clearvos_default_each(administration, member):
    lines = [line_fields(unit="EA"), line_fields(unit="DAY"), line_fields(unit="")]
    sent = payload_of(administration, member, lines=lines)["lines"]
    assert ["unit" in line for line in sent] == [False, True, False]
    assert sent[1]["unit"] == "DAY"


@pytest.mark.parametrize("document_type", ["credit_note", "debit_note"])
def test_a_note_sends_its_original_invoices_number(administration, member, document_type):
    original = saved_invoice(administration, member, invoice_number="2026-0001")
    note = payload_of(
        administration, member, document_type=document_type, invoice_number="2026-0002", original_invoice=original
    )
    assert note["documentType"] == document_type
    assert note["originalInvoiceRef"] == "2026-0001"
    assert list(note).index("originalInvoiceRef") == list(note).index("payment") + 1


def test_an_invoice_sends_no_original_invoice_reference(administration, member):
    original = saved_invoice(administration, member, invoice_number="2026-0001")
    assert "originalInvoiceRef" not in payload_of(
        administration, member, invoice_number="2026-0002", original_invoice=original
    )


ITALIAN_AND_GERMAN = {
    "it_codice_fiscale": "RSSMRA85T10A562S",
    "it_codice_destinatario": "KRRH6B9",
    "it_pec_destinatario": "fatture@pec.cliente.it",
    "de_buyer_reference": "04011000-12345-34",
}


@pytest.mark.parametrize(
    ("destination", "country_data"),
    [
        (
            "IT",
            {
                "it": {
                    "codiceFiscale": "RSSMRA85T10A562S",
                    "codiceDestinatario": "KRRH6B9",
                    "pecDestinatario": "fatture@pec.cliente.it",
                }
            },
        ),
        ("DE", {"de": {"buyerReference": "04011000-12345-34"}}),
        ("FR", None),
        ("PL", None),
    ],
)
def test_country_data_goes_only_to_its_country(administration, member, destination, country_data):
    assert payload_of(administration, member, destination, **ITALIAN_AND_GERMAN).get("countryData") == country_data


def test_no_country_data_when_none_is_filled_in(administration, member):
    empty = dict.fromkeys(ITALIAN_AND_GERMAN, "")
    assert "countryData" not in payload_of(administration, member, "IT", **empty)
    assert "countryData" not in payload_of(administration, member, "DE", **empty)


def test_lines_go_in_position_order(administration, member):
    invoice = saved_invoice(administration, member, lines=[])
    InvoiceLine.objects.create(invoice=invoice, position=2, **line_fields(description="Third"))
    InvoiceLine.objects.create(invoice=invoice, position=0, **line_fields(description="First"))
    InvoiceLine.objects.create(invoice=invoice, position=1, **line_fields(description="Second"))
    assert [line["description"] for line in invoice_payload(invoice)["lines"]] == ["First", "Second", "Third"]


# --- From Clearvo's violation paths to the form's fields ----------------------------------------

PATHS = [
    ("documentType", ("document_type", None)),
    ("invoiceNumber", ("invoice_number", None)),
    ("issueDate", ("issue_date", None)),
    ("taxPointDate", ("tax_point_date", None)),
    ("dueDate", ("due_date", None)),
    ("currency", ("currency", None)),
    ("country", ("country", None)),
    ("supplier", ("__all__", None)),
    ("supplier.name", ("supplier_name", None)),
    ("supplier.taxId", ("supplier_tax_id", None)),
    ("supplier.taxIdCountry", ("supplier_tax_id_country", None)),
    ("supplier.address", ("__all__", None)),
    ("supplier.address.street", ("supplier_street", None)),
    ("supplier.address.city", ("supplier_city", None)),
    ("supplier.address.postalCode", ("supplier_postal_code", None)),
    ("supplier.address.country", ("supplier_country", None)),
    ("buyer.name", ("buyer_name", None)),
    ("buyer.taxId", ("buyer_tax_id", None)),
    ("buyer.taxIdCountry", ("buyer_tax_id_country", None)),
    ("buyer.address.city", ("buyer_city", None)),
    ("buyer.address.country", ("buyer_country", None)),
    ("lines", ("__all__", None)),
    ("lines[1]", ("__all__", 1)),
    ("lines[0].description", ("description", 0)),
    ("lines[0].quantity", ("quantity", 0)),
    ("lines[12].unitPrice", ("unit_price", 12)),
    ("lines[0].taxCode", ("tax_code", 0)),
    ("lines[3].unit", ("unit", 3)),
    ("lines[0].exemptionReason", ("exemption_reason", 0)),
    ("payment", ("__all__", None)),
    ("payment.iban", ("iban", None)),
    ("payment.bic", ("bic", None)),
    ("payment.paymentMeans", ("payment_means", None)),
    ("payment.paymentReference", ("payment_reference", None)),
    ("originalInvoiceRef", ("original_invoice", None)),
    ("customerReference", ("customer_reference", None)),
    ("countryData.it.codiceFiscale", ("it_codice_fiscale", None)),
    ("countryData.it.codiceDestinatario", ("it_codice_destinatario", None)),
    ("countryData.it.pecDestinatario", ("it_pec_destinatario", None)),
    ("countryData.de.buyerReference", ("de_buyer_reference", None)),
    ("countryData", ("__all__", None)),
    # Not a field of the invoice: the body as a whole, a header, something unknown.
    ("body", None),
    ("x-idempotency-key", None),
    ("lines[0].colour", None),
    ("lines[x].quantity", None),
    ("supplier.vat", None),
]


@pytest.mark.parametrize(("path", "field"), PATHS)
def test_a_violation_path_names_the_field_and_line(path, field):
    assert field_for_path(path) == field


def test_every_field_the_payload_sends_maps_back_to_a_model_field(administration, member):
    invoice = saved_invoice(
        administration, member, customer_reference="PO-1", tax_point_date=date(2026, 1, 14), it_codice_fiscale="X"
    )
    invoice_field_names = {field.name for field in Invoice._meta.fields}
    line_field_names = {field.name for field in InvoiceLine._meta.fields}
    for path, _ in leaves(invoice_payload(invoice)):
        field, line = field_for_path(path)
        assert field in (line_field_names if line is not None else invoice_field_names), path
