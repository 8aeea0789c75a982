"""The one function that turns an invoice into Clearvo's POST /invoices body.

CONTRACT (filled in by the payload work): `invoice_payload(invoice)` returns the body as a dict in
the order of the specification's request-body table; `payload_bytes(invoice)` returns the exact
bytes a submission sends (and the preview shows). The preview and the submission both use them.
`field_for_path(path)` names the model field (and line) behind a path of a Clearvo violation.

Required fields are always sent, as they are (an empty one is Clearvo's to refuse, and
invoicing.rules refuses it first); optional fields are left out when empty, as the specification
allows ("Optional fields are silently ignored if absent"). Choices the specification leaves open:
- a line's `unit` is left out when it is EA, Clearvo's default; `exemptionReason` is sent when set
  (the tax-code table asks for it, the line table does not list it);
- `taxIdCountry` is sent with a `taxId` only: it says where that number is registered;
- `payment` is sent when an IBAN, BIC or reference is set, or the means is not the default
  CREDIT_TRANSFER; it then always says its `paymentMeans`;
- `originalInvoiceRef` (the original's invoice number) is sent for credit and debit notes only;
- `countryData` comes last, with `it` for Italian invoices and `de` for German ones.
Quantities and prices are JSON numbers: integers when whole (1, not 1.0), otherwise written through
a float, which is exact because the models allow 15 significant digits (models.QUANTITY_DIGITS).
"""

import json
import re
from datetime import date
from decimal import Decimal

from invoicing.models import DestinationCountry, PaymentMeans

DEFAULT_UNIT = "EA"
DEFAULT_PAYMENT_MEANS = PaymentMeans.CREDIT_TRANSFER
# The keys left out when empty; every other key is required and always sent.
OPTIONAL = {"taxPointDate", "dueDate", "payment", "originalInvoiceRef", "customerReference", "countryData"}
OPTIONAL_IN_PARTY = {"taxId", "taxIdCountry", "street", "postalCode"}
OPTIONAL_IN_LINE = {"unit", "exemptionReason"}
OPTIONAL_IN_PAYMENT = {"iban", "bic", "paymentReference"}


def invoice_payload(invoice) -> dict:
    original = invoice.original_invoice if invoice.is_note and invoice.original_invoice_id else None
    body = {
        "documentType": invoice.document_type,
        "invoiceNumber": invoice.invoice_number,
        "issueDate": _date(invoice.issue_date),
        "taxPointDate": _date(invoice.tax_point_date),
        "dueDate": _date(invoice.due_date),
        "currency": invoice.currency,
        "country": invoice.country,
        "supplier": _party(invoice, "supplier"),
        "buyer": _party(invoice, "buyer"),
        "lines": [_line(line) for line in invoice.lines.all()],
        "payment": _payment(invoice),
        "originalInvoiceRef": original.invoice_number if original else None,
        "customerReference": invoice.customer_reference,
        "countryData": _country_data(invoice),
    }
    return _without_empty(body, OPTIONAL)


def payload_bytes(invoice) -> bytes:
    """The body as UTF-8: the same invoice gives the same bytes, key order and all."""
    return json.dumps(invoice_payload(invoice), ensure_ascii=False, indent=2, allow_nan=False).encode()


def _without_empty(mapping: dict, optional: set[str]) -> dict:
    """`mapping` in the same order, without the `optional` keys whose value is empty."""
    return {key: value for key, value in mapping.items() if key not in optional or value not in (None, "", {})}


def _date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _number(value) -> int | float:
    """A JSON number: an integer when whole; else a float, exact for the models' 15 significant digits."""
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


def _party(invoice, role: str) -> dict:
    def field(name):
        return getattr(invoice, f"{role}_{name}")

    address = {
        "street": field("street"),
        "city": field("city"),
        "postalCode": field("postal_code"),
        "country": field("country"),
    }
    party = {
        "name": field("name"),
        "taxId": field("tax_id"),
        "taxIdCountry": field("tax_id_country") if field("tax_id") else None,
        "address": _without_empty(address, OPTIONAL_IN_PARTY),
    }
    return _without_empty(party, OPTIONAL_IN_PARTY)


def _line(line) -> dict:
    body = {
        "description": line.description,
        "quantity": _number(line.quantity),
        "unitPrice": _number(line.unit_price),
        "taxCode": line.tax_code,
        "unit": line.unit if line.unit != DEFAULT_UNIT else None,
        "exemptionReason": line.exemption_reason,
    }
    return _without_empty(body, OPTIONAL_IN_LINE)


def _payment(invoice) -> dict:
    details = (invoice.iban, invoice.bic, invoice.payment_reference)
    if not any(details) and invoice.payment_means == DEFAULT_PAYMENT_MEANS:
        return {}
    payment = {
        "iban": invoice.iban,
        "bic": invoice.bic,
        "paymentMeans": invoice.payment_means,
        "paymentReference": invoice.payment_reference,
    }
    return _without_empty(payment, OPTIONAL_IN_PAYMENT)


def _country_data(invoice) -> dict:
    if invoice.country == DestinationCountry.IT:
        italy = {
            "codiceFiscale": invoice.it_codice_fiscale,
            "codiceDestinatario": invoice.it_codice_destinatario,
            "pecDestinatario": invoice.it_pec_destinatario,
        }
        italy = _without_empty(italy, set(italy))
        return {"it": italy} if italy else {}
    if invoice.country == DestinationCountry.DE and invoice.de_buyer_reference:
        return {"de": {"buyerReference": invoice.de_buyer_reference}}
    return {}


# --- From Clearvo's violation paths back to the form ---------------------------------------------

ALL = "__all__"
_PARTY_PATHS = {
    "": ALL,
    "name": "name",
    "taxId": "tax_id",
    "taxIdCountry": "tax_id_country",
    "address": ALL,
    "address.street": "street",
    "address.city": "city",
    "address.postalCode": "postal_code",
    "address.country": "country",
}
_INVOICE_PATHS = {
    "documentType": "document_type",
    "invoiceNumber": "invoice_number",
    "issueDate": "issue_date",
    "taxPointDate": "tax_point_date",
    "dueDate": "due_date",
    "currency": "currency",
    "country": "country",
    **{
        f"{role}.{path}".rstrip("."): ALL if field == ALL else f"{role}_{field}"
        for role in ("supplier", "buyer")
        for path, field in _PARTY_PATHS.items()
    },
    "lines": ALL,
    "payment": ALL,
    "payment.iban": "iban",
    "payment.bic": "bic",
    "payment.paymentMeans": "payment_means",
    "payment.paymentReference": "payment_reference",
    "originalInvoiceRef": "original_invoice",
    "customerReference": "customer_reference",
    "countryData": ALL,
    "countryData.it": ALL,
    "countryData.it.codiceFiscale": "it_codice_fiscale",
    "countryData.it.codiceDestinatario": "it_codice_destinatario",
    "countryData.it.pecDestinatario": "it_pec_destinatario",
    "countryData.de": ALL,
    "countryData.de.buyerReference": "de_buyer_reference",
}
_LINE_PATHS = {
    "": ALL,
    "description": "description",
    "quantity": "quantity",
    "unitPrice": "unit_price",
    "taxCode": "tax_code",
    "unit": "unit",
    "exemptionReason": "exemption_reason",
}
_LINE_PATH = re.compile(r"lines\[(\d+)\](?:\.(\w+))?")


def field_for_path(path: str) -> tuple[str, int | None] | None:
    """("buyer_tax_id", None) for "buyer.taxId", ("tax_code", 0) for "lines[0].taxCode"; None for a
    path that names no field of the invoice (the body as a whole, a header)."""
    if match := _LINE_PATH.fullmatch(path):
        field = _LINE_PATHS.get(match[2] or "")
        return (field, int(match[1])) if field else None
    field = _INVOICE_PATHS.get(path)
    return (field, None) if field else None
