"""The checks that mirror Clearvo's 400 and 422 rules, run before anything is sent.

CONTRACT (filled in by the rules work; the form and, later, the submission call these):
- `invoice_problems(invoice, lines)` takes an Invoice and its InvoiceLines (saved or not, the
  supplier fields already copied from the profile) and returns every Problem, in field order.
- A Problem names a model field: of Invoice when `line` is None, else of the InvoiceLine at index
  `line` of `lines`. `field` "__all__" is a problem of the whole invoice (or line).

The rules are those of Clearvo's request-body tables (HTTP 400) and its country rules (HTTP 422),
as the sandbox implements them, and a few the specification implies and the portal adds: a tax code
that exists in the destination country (invoicing.rates), tax ids checked for every country with
python-stdnum (Clearvo checks Italy and Poland), positive quantities, a due date not before the
issue date, an exemption reason for E, a note's original invoice from the same administration,
and the EN16931 rules the invoice's UBL for the books must meet (the supplier's VAT number,
the buyer's for K, O never beside another category).
Only what `invoicing.payload` sends is checked: Italian country data only for Italy, for example.
A field gets at most one problem, the first found.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django_countries import countries

from invoicing import identifiers, rates
from invoicing.models import (
    CURRENCIES,
    DESTINATION_COUNTRIES,
    DestinationCountry,
    Invoice,
    InvoiceLine,
    PaymentMeans,
    TaxCode,
)

ALL = "__all__"
MAX_QUANTITY_DECIMALS = 6
ISO_COUNTRIES = frozenset(country.code for country in countries)
TAX_ID_CHARACTERS = re.compile(r"[A-Za-z0-9]+")
UNIT_CODE = re.compile(r"[A-Z0-9]{1,3}")
CODICE_DESTINATARIO = re.compile(r"[A-Za-z0-9]{7}")
INVOICE_FIELDS = [field.name for field in Invoice._meta.fields]
LINE_FIELDS = [field.name for field in InvoiceLine._meta.fields]


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    line: int | None = None


def invoice_problems(invoice, lines) -> list[Problem]:
    lines = list(lines)
    problems = [
        *_header_problems(invoice),
        *_party_problems(invoice, "supplier"),
        *_party_problems(invoice, "buyer"),
        *_reverse_charge_problems(invoice, lines),
        *_en16931_problems(invoice, lines),
        *_payment_problems(invoice),
        *_original_invoice_problems(invoice),
        *_country_data_problems(invoice),
        *_lines_problems(invoice, lines),
    ]
    return _in_field_order(problems)


def _blank(value) -> bool:
    return value is None or not str(value).strip()


def _in_field_order(problems: list[Problem]) -> list[Problem]:
    """The first problem of each field, invoice fields first, then each line's, in the models' field order."""
    first: dict[tuple[str, int | None], Problem] = {}
    for problem in problems:
        first.setdefault((problem.field, problem.line), problem)

    def position(problem: Problem):
        fields = INVOICE_FIELDS if problem.line is None else LINE_FIELDS
        index = fields.index(problem.field) if problem.field in fields else -1
        return (problem.line is not None, problem.line or 0, index)

    return sorted(first.values(), key=position)


# --- The invoice itself ---------------------------------------------------------------------------


def _header_problems(invoice) -> list[Problem]:
    problems = []
    if invoice.document_type not in Invoice.DocumentType.values:
        problems.append(Problem("document_type", _("Choose invoice, credit note or debit note.")))
    if _blank(invoice.invoice_number):
        problems.append(Problem("invoice_number", _("Enter the invoice number.")))
    if invoice.issue_date is None:
        problems.append(Problem("issue_date", _("Enter the issue date.")))
    elif invoice.due_date is not None and invoice.due_date < invoice.issue_date:
        problems.append(Problem("due_date", _("The due date is before the issue date: choose a later due date.")))
    if invoice.currency not in CURRENCIES:
        problems.append(Problem("currency", _("Choose EUR, PLN, GBP or USD: Clearvo accepts no other currency.")))
    if invoice.country not in DESTINATION_COUNTRIES:
        problems.append(
            Problem(
                "country",
                _(
                    "Choose a country Clearvo delivers to: "
                    "Italy, Poland, Spain, Portugal, France, Germany, Romania or Hungary."
                ),
            )
        )
    return problems


# --- Supplier and buyer ---------------------------------------------------------------------------


def _party_messages(role: str) -> dict[str, str]:
    """What to do when a required field of the party is missing; the supplier's come from the profile."""
    if role == "supplier":
        return {
            "name": _("The supplier's legal name is missing: fill it in in the invoicing profile."),
            "city": _("The supplier's city is missing: fill it in in the invoicing profile."),
            "country": _("The supplier's country is missing: fill it in in the invoicing profile."),
        }
    return {
        "name": _("Enter the buyer's name."),
        "city": _("Enter the buyer's city."),
        "country": _("Choose the buyer's country."),
    }


def _party_problems(invoice, role: str) -> list[Problem]:
    missing = _party_messages(role)
    problems = []
    for name in ("name", "city"):
        if _blank(getattr(invoice, f"{role}_{name}")):
            problems.append(Problem(f"{role}_{name}", missing[name]))
    country = getattr(invoice, f"{role}_country")
    if _blank(country):
        problems.append(Problem(f"{role}_country", missing["country"]))
    elif country not in ISO_COUNTRIES:
        problems.append(Problem(f"{role}_country", _("Use a two-letter ISO country code, such as BE or IT.")))
    return problems + _tax_id_problems(invoice, role)


def _tax_id_problems(invoice, role: str) -> list[Problem]:
    tax_id, country = getattr(invoice, f"{role}_tax_id"), getattr(invoice, f"{role}_tax_id_country")
    if not tax_id:
        return []
    if _blank(country):
        return [Problem(f"{role}_tax_id_country", _("Choose the country this number is registered in."))]
    if country not in ISO_COUNTRIES:
        return [Problem(f"{role}_tax_id_country", _("Use a two-letter ISO country code, such as BE or IT."))]
    message = _tax_id_form_problem(tax_id, country) or identifiers.tax_id_problem(tax_id, country)
    return [Problem(f"{role}_tax_id", message)] if message else []


def _tax_id_form_problem(tax_id: str, country: str) -> str | None:
    """Clearvo wants the number bare: no spaces or separators, no country prefix (IT: 11 digits, not IT…)."""
    prefixes = {country, identifiers.VAT_PREFIXES.get(country, country)}
    has_prefix = tax_id[:2].isalpha() and tax_id[:2].upper() in prefixes
    if has_prefix or not TAX_ID_CHARACTERS.fullmatch(tax_id):
        return _("Write the number without spaces, dots or the country prefix %(prefix)s.") % {"prefix": country}
    return None


def _reverse_charge_problems(invoice, lines) -> list[Problem]:
    """Clearvo's 422: reverse charge (AE) on any line needs both parties' tax ids."""
    if not any(line.tax_code == TaxCode.AE for line in lines):
        return []
    problems = []
    if not invoice.supplier_tax_id:
        problems.append(
            Problem(
                "supplier_tax_id",
                _("Reverse charge (AE) needs the supplier's VAT number: fill it in in the invoicing profile."),
            )
        )
    if not invoice.buyer_tax_id:
        problems.append(
            Problem(
                "buyer_tax_id",
                _("Reverse charge (AE) needs the buyer's VAT number: enter it, or choose another VAT category."),
            )
        )
    return problems


def _en16931_problems(invoice, lines) -> list[Problem]:
    """EN16931 rules that the invoice's Peppol copy for the books (invoicing.ubl) must meet."""
    codes = {line.tax_code for line in lines if line.tax_code}
    problems = []
    if codes - {TaxCode.O, TaxCode.AE} and not invoice.supplier_tax_id:  # BR-S-02, BR-Z-02, BR-E-02, BR-G-02, BR-IC-02
        problems.append(
            Problem(
                "supplier_tax_id",
                _("This invoice needs the supplier's VAT number: fill it in in the invoicing profile."),
            )
        )
    addressable = invoice.buyer_tax_id or (invoice.country == DestinationCountry.DE and invoice.de_buyer_reference)
    addressable = addressable or (invoice.country == DestinationCountry.IT and invoice.it_codice_fiscale)
    if not addressable and TaxCode.K not in codes:  # PEPPOL-EN16931-R010: the buyer's electronic address
        problems.append(
            Problem("buyer_tax_id", _("Enter the buyer's VAT or tax number: the e-invoice is addressed with it."))
        )
    if TaxCode.K in codes and not invoice.buyer_tax_id:  # BR-IC-02
        problems.append(Problem("buyer_tax_id", _("An intra-EU supply (K) needs the buyer's VAT number.")))
    if TaxCode.O in codes and len(codes) > 1:  # BR-O-11 to BR-O-14
        first = next(index for index, line in enumerate(lines) if line.tax_code == TaxCode.O)
        problems.append(
            Problem(
                "tax_code",
                _(
                    "Outside the scope of VAT (O) cannot be combined with other VAT categories: "
                    "invoice these lines separately."
                ),
                line=first,
            )
        )
    return problems


# --- Payment, original invoice, country data -----------------------------------------------------


def _payment_problems(invoice) -> list[Problem]:
    problems = []
    if invoice.iban:
        message = identifiers.iban_problem(invoice.iban)
        compact = identifiers.compact_iban(invoice.iban)
        if not message and invoice.iban != compact:
            message = _("Write the IBAN without spaces, in capitals: %(iban)s.") % {"iban": compact}
        if message:
            problems.append(Problem("iban", message))
    if invoice.bic:
        message = identifiers.bic_problem(invoice.bic)
        compact = identifiers.compact_bic(invoice.bic)
        if not message and invoice.bic != compact:
            message = _("Write the BIC without spaces, in capitals: %(bic)s.") % {"bic": compact}
        if message:
            problems.append(Problem("bic", message))
    if invoice.payment_means not in PaymentMeans.values:
        problems.append(Problem("payment_means", _("Choose credit transfer, SEPA credit transfer or cash.")))
    return problems


def _original_invoice_problems(invoice) -> list[Problem]:
    """A note corrects an invoice of the same administration (a draft will do); an invoice corrects nothing."""
    original = invoice.original_invoice if invoice.original_invoice_id else None
    if invoice.document_type not in Invoice.NOTE_TYPES:
        if original is None:
            return []
        message = _("Only a credit or debit note refers to an original invoice: remove it, or change the type.")
    elif original is None:
        message = _("Choose the invoice this note corrects.")
    elif original.administration_id != invoice.administration_id:
        message = _("Choose an invoice of this administration.")
    elif invoice.pk is not None and original.pk == invoice.pk:
        message = _("A note cannot correct itself: choose the invoice it corrects.")
    elif original.is_note:
        message = _("Choose an invoice, not a credit or debit note: a note corrects an invoice.")
    else:
        return []
    return [Problem("original_invoice", message)]


def _country_data_problems(invoice) -> list[Problem]:
    if invoice.country != DestinationCountry.IT:
        return []  # only Italy's country data is checked, as only Italy's is sent with an Italian invoice
    problems = []
    code = invoice.it_codice_destinatario
    if code and not CODICE_DESTINATARIO.fullmatch(code):
        problems.append(
            Problem(
                "it_codice_destinatario",
                _("Enter the 7 letters or digits of the codice destinatario, or leave it empty."),
            )
        )
    if invoice.it_pec_destinatario:
        try:
            validate_email(invoice.it_pec_destinatario)
        except ValidationError:
            problems.append(
                Problem("it_pec_destinatario", _("Enter the PEC address as an e-mail address, such as fatture@pec.it."))
            )
    return problems


# --- Lines -----------------------------------------------------------------------------------------


def _lines_problems(invoice, lines) -> list[Problem]:
    if not lines:
        return [Problem(ALL, _("Add at least one line."))]
    return [
        Problem(field, message, line=index)
        for index, line in enumerate(lines)
        for field, message in _line_problems(invoice.country, line)
    ]


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _line_problems(country: str, line) -> list[tuple[str, str]]:
    problems = []
    if _blank(line.description):
        problems.append(("description", _("Describe what this line invoices.")))
    quantity = _decimal(line.quantity)
    if quantity is None or not quantity.is_finite():
        problems.append(("quantity", _("Enter a quantity.")))
    elif quantity <= 0:
        problems.append(("quantity", _("Enter a quantity above zero (a credit note states positive quantities too).")))
    elif _decimals(quantity) > MAX_QUANTITY_DECIMALS:
        problems.append(("quantity", _("Use at most 6 decimals in the quantity.")))
    unit_price = _decimal(line.unit_price)
    if unit_price is None or not unit_price.is_finite():
        problems.append(("unit_price", _("Enter the unit price, without VAT.")))
    elif unit_price < 0:
        problems.append(
            ("unit_price", _("Enter a unit price of zero or more; to give money back, make a credit note."))
        )
    if line.unit and not UNIT_CODE.fullmatch(line.unit):
        problems.append(("unit", _("Use a UN/CEFACT unit code of 1 to 3 capitals or digits, such as EA, HUR or KGM.")))
    problems += _tax_code_problems(country, line)
    return problems


def _tax_code_problems(country: str, line) -> list[tuple[str, str]]:
    if line.tax_code not in TaxCode.values:
        return [("tax_code", _("Choose a VAT category."))]
    if country in DESTINATION_COUNTRIES and not rates.is_valid_code(country, line.tax_code):
        message = _("%(category)s (%(code)s) does not exist in %(country)s: choose another VAT category.") % {
            "category": TaxCode(line.tax_code).label,
            "code": line.tax_code,
            "country": DestinationCountry(country).label,
        }
        return [("tax_code", message)]
    if line.tax_code == TaxCode.E and _blank(line.exemption_reason):
        return [("exemption_reason", _("Give the legal ground of the exemption, such as the article of the VAT law."))]
    return []
