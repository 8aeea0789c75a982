"""invoicing.rules and invoicing.payload against the sandbox's Clearvo, over a real socket.

The portal must catch what Clearvo would refuse. So invoices built as models are sent, as
payload_bytes, to the live sandbox's POST /invoices: a valid invoice to each country is accepted
(and has no problems), and for each invalid one the sandbox refuses, every violation it reports
lands, through field_for_path, on a field invoice_problems already named. The last table holds what
the portal refuses although the sandbox accepts it: rules the specification implies but Clearvo
leaves to the authority (a rate a country does not have, the check digits of most countries' tax ids).
"""

import uuid
from datetime import date
from decimal import Decimal

import pytest
import requests
from django.conf import settings
from django.test import override_settings

from invoicing.payload import field_for_path, payload_bytes
from invoicing.rules import invoice_problems
from sandbox.clearvo.seed import seed as seed_clearvo
from tests.invoicing.rules_examples import COUNTRIES, line_fields, lines_for, saved_invoice


@pytest.fixture
def send(portal):
    """POST /invoices to the live sandbox with its seeded test key: the bytes a submission sends."""
    seed_clearvo()
    session = requests.Session()

    def post(invoice):
        headers = {
            "x-api-key": settings.SANDBOX_CLEARVO_TEST_KEY,
            "x-idempotency-key": str(uuid.uuid4()),
            "Content-Type": "application/json",
        }
        return session.post(
            f"{settings.CLEARVO_API_URL}/invoices", data=payload_bytes(invoice), headers=headers, timeout=10
        )

    with override_settings(SANDBOX_FAULT_RATE=0.0, SANDBOX_LATENCY_MS=0):
        yield post


def problems_of(invoice) -> set[tuple[str, int | None]]:
    return {(problem.field, problem.line) for problem in invoice_problems(invoice, list(invoice.lines.all()))}


def invoice_with(administration, author, destination, changes, first_line):
    """A valid invoice to `destination` with `changes`; `first_line` changes its first line (None: no lines)."""
    lines = [] if first_line is None else lines_for(destination)
    if lines:
        lines[0] = lines[0] | first_line
    return saved_invoice(administration, author, destination, lines=lines, **changes)


@pytest.mark.parametrize("destination", COUNTRIES)
def test_a_valid_invoice_to_each_country_has_no_problems_and_clearvo_accepts_it(
    send, administration, member, destination
):
    invoice = saved_invoice(administration, member, destination)

    assert problems_of(invoice) == set()
    response = send(invoice)
    assert response.status_code == 200, response.text
    assert response.json()["country"] == destination


def test_the_smallest_and_largest_numbers_the_models_hold_are_accepted(send, administration, member):
    lines = [
        line_fields(quantity=Decimal("0.000001"), unit_price=Decimal("999999999.999999")),
        line_fields(quantity=Decimal("999999999.999999"), unit_price=Decimal("0.000001")),
    ]
    invoice = saved_invoice(administration, member, "IT", lines=lines)

    assert problems_of(invoice) == set()
    assert send(invoice).status_code == 200


# (id, destination, invoice changes, changes of the first line or None for no lines at all)
REFUSED = [
    (
        "spec-quickstart-tax-ids",
        "IT",
        {"supplier_tax_id": "01234567890", "supplier_tax_id_country": "IT", "buyer_tax_id": "09876543210"},
        {},
    ),
    ("IT-office-code", "IT", {"buyer_tax_id": "01234561502"}, {}),
    ("IT-10-digits", "IT", {"buyer_tax_id": "0987654058"}, {}),
    ("IT-prefix", "IT", {"buyer_tax_id": "IT09876540585"}, {}),
    ("PL-checksum", "PL", {"buyer_tax_id": "5260250275"}, {}),
    ("PL-dashes", "PL", {"buyer_tax_id": "526-025-02-74"}, {}),
    ("PL-buyer-abroad", "DE", {"buyer_tax_id": "1234567890", "buyer_tax_id_country": "PL"}, {}),
    ("DE-prefix", "DE", {"buyer_tax_id": "DE811569869"}, {}),
    ("FR-spaces", "FR", {"buyer_tax_id": "447 328 293 20"}, {}),
    ("BE-supplier-prefix", "FR", {"supplier_tax_id": "BE0403170701"}, {}),
    ("tax-id-without-country", "ES", {"buyer_tax_id_country": ""}, {}),
    ("tax-id-country-unknown", "ES", {"buyer_tax_id_country": "XX"}, {}),
    ("AE-without-buyer-tax-id", "RO", {"buyer_tax_id": ""}, {}),
    ("AE-without-supplier-tax-id", "HU", {"supplier_tax_id": ""}, {}),
    ("credit-note-without-original", "IT", {"document_type": "credit_note"}, {}),
    ("debit-note-without-original", "PT", {"document_type": "debit_note"}, {}),
    ("document-type", "IT", {"document_type": "proforma"}, {}),
    ("invoice-number", "IT", {"invoice_number": "  "}, {}),
    ("currency", "IT", {"currency": "CHF"}, {}),
    ("country", "IT", {"country": "BE"}, {}),
    ("supplier-name", "FR", {"supplier_name": ""}, {}),
    ("supplier-city", "FR", {"supplier_city": ""}, {}),
    ("supplier-country", "FR", {"supplier_country": ""}, {}),
    ("buyer-name", "DE", {"buyer_name": " "}, {}),
    ("buyer-city", "DE", {"buyer_city": ""}, {}),
    ("buyer-country", "DE", {"buyer_country": "XX"}, {}),
    ("iban", "IT", {"iban": "BE71096123456768"}, {}),
    ("iban-spaces", "IT", {"iban": "BE71 0961 2345 6769"}, {}),
    ("bic", "IT", {"bic": "GEBA"}, {}),
    ("payment-means", "IT", {"payment_means": "CHEQUE"}, {}),
    ("codice-destinatario", "IT", {"it_codice_destinatario": "KRRH6B"}, {}),
    ("pec", "IT", {"it_pec_destinatario": "fatture at pec.it"}, {}),
    ("no-lines", "IT", {}, None),
    ("line-description", "IT", {}, {"description": ""}),
    ("line-tax-code", "IT", {}, {"tax_code": "X"}),
    ("line-unit-lowercase", "IT", {}, {"unit": "hur"}),
    ("line-unit-symbol", "IT", {}, {"unit": "H-R"}),
    (
        "many-at-once",
        "IT",
        {"currency": "CHF", "buyer_tax_id": "IT0987", "bic": "GEBA"},
        {"unit": "h", "tax_code": "X"},
    ),
]


@pytest.mark.parametrize(
    ("destination", "changes", "first_line"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED]
)
def test_what_clearvo_refuses_the_rules_name_on_the_same_field(
    send, administration, member, destination, changes, first_line
):
    invoice = invoice_with(administration, member, destination, changes, first_line)

    response = send(invoice)

    assert response.status_code in (400, 422), response.text
    violations = [violation["field"] for violation in response.json()["error"]["violations"]]
    assert violations
    problems = problems_of(invoice)
    assert {path: field_for_path(path) in problems for path in violations} == dict.fromkeys(violations, True), problems


# (id, destination, invoice changes, changes of the first line, the problem the portal reports)
ONLY_THE_PORTAL_REFUSES = [
    ("AC-outside-Italy", "PL", {}, {"tax_code": "AC"}, ("tax_code", 0)),
    ("AB-in-Germany", "DE", {}, {"tax_code": "AB"}, ("tax_code", 0)),
    ("AB-in-Romania", "RO", {}, {"tax_code": "AB"}, ("tax_code", 0)),
    ("exempt-without-reason", "ES", {}, {"tax_code": "E"}, ("exemption_reason", 0)),
    ("zero-quantity", "FR", {}, {"quantity": Decimal("0")}, ("quantity", 0)),
    ("negative-quantity", "FR", {}, {"quantity": Decimal("-2")}, ("quantity", 0)),
    ("negative-price", "FR", {}, {"unit_price": Decimal("-1")}, ("unit_price", 0)),
    ("due-before-issue", "IT", {"due_date": date(2026, 1, 1)}, {}, ("due_date", None)),
    ("ES-NIF", "ES", {"buyer_tax_id": "B12345675"}, {}, ("buyer_tax_id", None)),
    ("PT-NIF", "PT", {"buyer_tax_id": "501964844"}, {}, ("buyer_tax_id", None)),
    ("FR-TVA", "FR", {"buyer_tax_id": "40303265046"}, {}, ("buyer_tax_id", None)),
    ("DE-USt-IdNr", "DE", {"buyer_tax_id": "136695977"}, {}, ("buyer_tax_id", None)),
    ("RO-CUI", "RO", {"buyer_tax_id": "18547291"}, {}, ("buyer_tax_id", None)),
    ("HU-adoszam", "HU", {"buyer_tax_id": "12892313"}, {}, ("buyer_tax_id", None)),
    ("BE-supplier", "IT", {"supplier_tax_id": "0403170702"}, {}, ("supplier_tax_id", None)),
    ("IBAN-lowercase", "IT", {"iban": "be71096123456769"}, {}, ("iban", None)),
]


@pytest.mark.parametrize(
    ("destination", "changes", "first_line", "problem"),
    [case[1:] for case in ONLY_THE_PORTAL_REFUSES],
    ids=[case[0] for case in ONLY_THE_PORTAL_REFUSES],
)
def test_what_only_the_portal_refuses(send, administration, member, destination, changes, first_line, problem):
    invoice = invoice_with(administration, member, destination, changes, first_line)

    assert problems_of(invoice) == {problem}
    assert send(invoice).status_code == 200
