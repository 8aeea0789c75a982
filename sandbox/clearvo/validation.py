"""The request body rules of POST /invoices: shape (HTTP 400) and country rules (HTTP 422).

Every rule adds a violation and checking goes on, so one response lists all of them; a field gets
at most one violation. A JSON null counts as absent.
"""

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from stdnum import bic, iban
from stdnum.it import iva
from stdnum.pl import nip

DOCUMENT_TYPES = ("invoice", "credit_note", "debit_note")
NOTE_TYPES = ("credit_note", "debit_note")
CURRENCIES = ("EUR", "PLN", "GBP", "USD")
COUNTRIES = ("IT", "PL", "ES", "PT", "FR", "DE", "RO", "HU")
TAX_CODES = ("S", "AA", "AB", "AC", "AE", "K", "G", "E", "O", "Z")
PAYMENT_MEANS = ("SEPA", "CREDIT_TRANSFER", "CASH")
MAX_QUANTITY_DECIMALS = 6

# ISO 3166-1 alpha-2 (as in the tz database's iso3166.tab).
ISO_COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
    BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
    FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
    IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
    ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 (249 codes read better as a block than as quoted strings)
)

TAX_ID_FORMATS = {
    "IT": (re.compile(r"\d{11}"), "11 digits (Partita IVA)"),
    "PL": (re.compile(r"\d{10}"), "10 digits (NIP)"),
}
DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")
UNIT_CODE = re.compile(r"[A-Z0-9]{1,3}")
CODICE_DESTINATARIO = re.compile(r"[A-Za-z0-9]{7}")


@dataclass(frozen=True)
class Violation:
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"field": self.field, "message": self.message}


class BodyError(ValueError):
    """The request body is not a JSON object."""


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(raw: bytes) -> dict:
    """The body as a dict with every non-integer number as a Decimal; raises BodyError otherwise."""
    try:
        payload = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise BodyError("must be a JSON object") from error
    if not isinstance(payload, dict):
        raise BodyError("must be a JSON object")
    return payload


def _path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _Checker:
    def __init__(self):
        self.violations: list[Violation] = []

    def add(self, field: str, message: str) -> None:
        self.violations.append(Violation(field, message))

    def value(self, obj: dict, name: str, prefix: str, *, required: bool) -> Any:
        value = obj.get(name)
        if value is None and required:
            self.add(_path(prefix, name), "is required")
        return value

    def string(
        self, obj: dict, name: str, prefix: str = "", *, required: bool = False, non_empty: bool = False
    ) -> str | None:
        value = self.value(obj, name, prefix, required=required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(_path(prefix, name), "must be a string")
            return None
        if non_empty and not value.strip():
            self.add(_path(prefix, name), "must not be empty")
            return None
        return value

    def enum(
        self, obj: dict, name: str, choices: tuple[str, ...], prefix: str = "", *, required: bool = False
    ) -> str | None:
        value = self.value(obj, name, prefix, required=required)
        if value is None:
            return None
        if value not in choices:
            self.add(_path(prefix, name), f"must be one of: {', '.join(choices)}")
            return None
        return value

    def date(self, obj: dict, name: str, *, required: bool = False) -> date | None:
        value = self.value(obj, name, "", required=required)
        if value is None:
            return None
        try:
            if not isinstance(value, str) or not DATE_FORMAT.fullmatch(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.add(name, "must be a date in YYYY-MM-DD format")
            return None

    def object(self, obj: dict, name: str, prefix: str = "", *, required: bool = False) -> dict | None:
        value = self.value(obj, name, prefix, required=required)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add(_path(prefix, name), "must be an object")
            return None
        return value

    def number(self, obj: dict, name: str, prefix: str, *, max_decimals: int | None = None) -> int | Decimal | None:
        value = self.value(obj, name, prefix, required=True)
        if value is None:
            return None
        # bool is an int in Python, but true is not a number in JSON.
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.add(_path(prefix, name), "must be a number")
            return None
        if max_decimals is not None and isinstance(value, Decimal):
            exponent = value.normalize().as_tuple().exponent
            if isinstance(exponent, int) and -exponent > max_decimals:
                self.add(_path(prefix, name), f"must have at most {max_decimals} decimal places")
                return None
        return value

    def country_code(self, obj: dict, name: str, prefix: str, *, required: bool = False) -> str | None:
        value = self.string(obj, name, prefix, required=required)
        if value is not None and value not in ISO_COUNTRIES:
            self.add(_path(prefix, name), "must be an ISO 3166-1 alpha-2 country code")
            return None
        return value


def _check_party(check: _Checker, party: dict, prefix: str) -> None:
    check.string(party, "name", prefix, required=True, non_empty=True)
    tax_id = check.string(party, "taxId", prefix)
    if tax_id is not None and party.get("taxIdCountry") is None:
        check.add(f"{prefix}.taxIdCountry", "is required when taxId is provided")
        tax_id_country = None
    else:
        tax_id_country = check.country_code(party, "taxIdCountry", prefix)
    if tax_id is not None:
        message = _tax_id_format_problem(tax_id, tax_id_country)
        if message:
            check.add(f"{prefix}.taxId", message)
    address = check.object(party, "address", prefix, required=True)
    if address is not None:
        address_prefix = f"{prefix}.address"
        check.string(address, "street", address_prefix)
        check.string(address, "city", address_prefix, required=True, non_empty=True)
        check.string(address, "postalCode", address_prefix)
        check.country_code(address, "country", address_prefix, required=True)


def _tax_id_format_problem(tax_id: str, country: str | None) -> str | None:
    if not tax_id:
        return "must not be empty"
    if any(character.isspace() for character in tax_id):
        return "must not contain spaces"
    if country and tax_id[:2].upper() == country and tax_id[:2].isalpha():
        return f"must not include the country prefix {country}"
    if country in TAX_ID_FORMATS:
        pattern, description = TAX_ID_FORMATS[country]
        if not pattern.fullmatch(tax_id):
            return f"must be {description}"
    return None


def _check_line(check: _Checker, line: Any, prefix: str) -> None:
    if not isinstance(line, dict):
        check.add(prefix, "must be an object")
        return
    check.string(line, "description", prefix, required=True, non_empty=True)
    check.number(line, "quantity", prefix, max_decimals=MAX_QUANTITY_DECIMALS)
    check.number(line, "unitPrice", prefix)
    tax_code = check.value(line, "taxCode", prefix, required=True)
    if tax_code is not None and tax_code not in TAX_CODES:
        check.add(f"{prefix}.taxCode", "must be a valid EN16931 tax code")
    unit = check.string(line, "unit", prefix)
    if unit is not None and not UNIT_CODE.fullmatch(unit):
        check.add(f"{prefix}.unit", "must be a UN/CEFACT unit code (1 to 3 uppercase letters or digits)")


def _check_payment(check: _Checker, payment: dict) -> None:
    account = check.string(payment, "iban", "payment")
    if account is not None and (" " in account or not iban.is_valid(account)):
        check.add("payment.iban", "must be a valid IBAN without spaces")
    bank = check.string(payment, "bic", "payment")
    if bank is not None and (" " in bank or not bic.is_valid(bank)):
        check.add("payment.bic", "must be a valid BIC")
    check.enum(payment, "paymentMeans", PAYMENT_MEANS, "payment")
    check.string(payment, "paymentReference", "payment")


def _check_country_data(check: _Checker, country_data: dict) -> None:
    italy = check.object(country_data, "it", "countryData")
    if italy is not None:
        code = check.string(italy, "codiceDestinatario", "countryData.it")
        if code is not None and not CODICE_DESTINATARIO.fullmatch(code):
            check.add("countryData.it.codiceDestinatario", "must be 7 letters or digits")
        pec = check.string(italy, "pecDestinatario", "countryData.it")
        if pec is not None:
            try:
                validate_email(pec)
            except ValidationError:
                check.add("countryData.it.pecDestinatario", "must be an e-mail address")
        check.string(italy, "codiceFiscale", "countryData.it")
    germany = check.object(country_data, "de", "countryData")
    if germany is not None:
        check.string(germany, "buyerReference", "countryData.de")
    # countryData.pl (kSeFToken) is managed by Clearvo and ignored.


def body_violations(payload: dict) -> list[Violation]:
    """Violations of the request body tables (HTTP 400)."""
    check = _Checker()
    check.enum(payload, "documentType", DOCUMENT_TYPES, required=True)
    check.string(payload, "invoiceNumber", required=True, non_empty=True)
    check.date(payload, "issueDate", required=True)
    check.date(payload, "taxPointDate")
    check.date(payload, "dueDate")
    check.enum(payload, "currency", CURRENCIES, required=True)
    check.enum(payload, "country", COUNTRIES, required=True)
    for role in ("supplier", "buyer"):
        party = check.object(payload, role, required=True)
        if party is not None:
            _check_party(check, party, role)
    lines = check.value(payload, "lines", "", required=True)
    if lines is not None:
        if not isinstance(lines, list):
            check.add("lines", "must be an array")
        elif not lines:
            check.add("lines", "must contain at least 1 item")
        for index, line in enumerate(lines if isinstance(lines, list) else []):
            _check_line(check, line, f"lines[{index}]")
    payment = check.object(payload, "payment")
    if payment is not None:
        _check_payment(check, payment)
    check.string(payload, "originalInvoiceRef")
    check.string(payload, "customerReference")
    country_data = check.object(payload, "countryData")
    if country_data is not None:
        _check_country_data(check, country_data)
    return check.violations


def country_rule_violations(payload: dict) -> list[Violation]:
    """Violations of the country rules (HTTP 422); only meaningful on a body without 400 violations."""
    violations = []
    parties = {role: payload[role] for role in ("supplier", "buyer")}
    if any(line["taxCode"] == "AE" for line in payload["lines"]):
        for role, party in parties.items():
            if not party.get("taxId"):
                violations.append(Violation(f"{role}.taxId", "is required for reverse charge (taxCode AE)"))
    for role, party in parties.items():
        tax_id, country = party.get("taxId"), party.get("taxIdCountry")
        if tax_id and country == "IT" and not iva.is_valid(tax_id):
            violations.append(Violation(f"{role}.taxId", "is not a valid Italian Partita IVA (check digit)"))
        elif tax_id and country == "PL" and not nip.is_valid(tax_id):
            violations.append(Violation(f"{role}.taxId", "is not a valid Polish NIP (checksum)"))
    if payload["documentType"] in NOTE_TYPES and not (payload.get("originalInvoiceRef") or "").strip():
        violations.append(Violation("originalInvoiceRef", "is required for credit_note and debit_note"))
    return violations
