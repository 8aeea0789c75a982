"""POST /invoices and GET /invoices/status: authentication, 400 and 422 rules, idempotency, scoping."""

import json
import uuid
from datetime import timedelta

import pytest
from django.conf import settings

from sandbox.clearvo.keys import api_key_save
from sandbox.clearvo.models import ApiKey, IdempotencyRecord, InvoiceSubmission
from sandbox.models import RequestLog
from tests.sandbox.clearvo_support import (
    DELETE,
    Clearvo,
    changed,
    invoice,
    italian_invoice,
    violations,
)

OTHER_KEY = "ck_test_other_organisation_0001"


@pytest.fixture
def other_clearvo(clearvo):
    api_key_save(raw_key=OTHER_KEY, organisation="Another integrator")
    return Clearvo(clearvo.base_url, OTHER_KEY)


# --- 401 ---------------------------------------------------------------------------------------

UNAUTHORIZED = {"ok": False, "error": {"code": "UNAUTHORIZED", "message": "Missing or invalid x-api-key"}}


@pytest.mark.parametrize("api_key", [None, "ck_test_unknown", "ck_live_sandbox_9b2e5d7a1c3f6085"])
def test_a_missing_or_unknown_key_is_401_on_both_endpoints(clearvo, api_key):
    headers = {"x-idempotency-key": str(uuid.uuid4())} | ({"x-api-key": api_key} if api_key else {})

    post = clearvo.session.post(f"{clearvo.base_url}/invoices", json=italian_invoice(), headers=headers, timeout=10)
    get = clearvo.session.get(
        f"{clearvo.base_url}/invoices/status", params={"country": "IT", "id": "x"}, headers=headers, timeout=10
    )

    assert (post.status_code, post.json()) == (401, UNAUTHORIZED)
    assert (get.status_code, get.json()) == (401, UNAUTHORIZED)
    assert not InvoiceSubmission.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_an_inactive_key_is_401(clearvo):
    reference_id = clearvo.submit(italian_invoice())["referenceId"]
    ApiKey.objects.filter(environment="test").update(is_active=False)

    assert clearvo.post(italian_invoice("INV-2")).status_code == 401
    assert clearvo.status(reference_id, "IT").status_code == 401


def test_keys_are_stored_hashed_and_logged_by_prefix_only(clearvo):
    clearvo.submit(italian_invoice())

    assert not ApiKey.objects.filter(key_hash__contains=settings.SANDBOX_CLEARVO_TEST_KEY).exists()
    [log] = RequestLog.objects.filter(service="clearvo")
    assert log.caller == settings.SANDBOX_CLEARVO_TEST_KEY[:12] + "…"
    assert log.operation == "POST /invoices"


# --- 400: the request body tables ---------------------------------------------------------------

IT = italian_invoice()
FULL = changed(
    changed(
        changed(IT, "lines[1].unit", "HUR"),
        "payment",
        {
            "iban": "IT60X0542811101000000123456",
            "bic": "BPPIITRRXXX",
            "paymentMeans": "SEPA",
            "paymentReference": "RF18539007547034",
        },
    ),
    "countryData",
    {
        "it": {"codiceDestinatario": "KRRH6B9", "pecDestinatario": "fatture@pec.cliente.it", "codiceFiscale": "X"},
        "de": {"buyerReference": "04011000-12345-34"},
        "pl": {"kSeFToken": 12345},
    },
)

BAD_BODIES = [
    ("documentType", DELETE, "is required"),
    ("documentType", "receipt", "must be one of: invoice, credit_note, debit_note"),
    ("invoiceNumber", DELETE, "is required"),
    ("invoiceNumber", "  ", "must not be empty"),
    ("invoiceNumber", 2024001, "must be a string"),
    ("issueDate", DELETE, "is required"),
    ("issueDate", "15/01/2024", "must be a date in YYYY-MM-DD format"),
    ("issueDate", "2024-02-30", "must be a date in YYYY-MM-DD format"),
    ("taxPointDate", "2024-1-15", "must be a date in YYYY-MM-DD format"),
    ("dueDate", 20240215, "must be a date in YYYY-MM-DD format"),
    ("currency", DELETE, "is required"),
    ("currency", "CHF", "must be one of: EUR, PLN, GBP, USD"),
    ("country", DELETE, "is required"),
    ("country", "BE", "must be one of: IT, PL, ES, PT, FR, DE, RO, HU"),
    ("country", "it", "must be one of: IT, PL, ES, PT, FR, DE, RO, HU"),
    ("supplier", DELETE, "is required"),
    ("buyer", "Cliente SpA", "must be an object"),
    ("supplier.name", DELETE, "is required"),
    ("buyer.name", "", "must not be empty"),
    ("supplier.taxId", "IT01234560157", "must not include the country prefix IT"),
    ("supplier.taxId", "012 3456 0157", "must not contain spaces"),
    ("supplier.taxId", "0123456015", "must be 11 digits (Partita IVA)"),
    ("supplier.taxId", 1234560157, "must be a string"),
    ("buyer.taxId", "", "must not be empty"),
    ("supplier.taxIdCountry", DELETE, "is required when taxId is provided"),
    ("buyer.taxIdCountry", "ITA", "must be an ISO 3166-1 alpha-2 country code"),
    ("buyer.taxIdCountry", "XX", "must be an ISO 3166-1 alpha-2 country code"),
    ("supplier.address", DELETE, "is required"),
    ("supplier.address", "Via Roma 1, Milano", "must be an object"),
    ("supplier.address.city", DELETE, "is required"),
    ("buyer.address.city", "", "must not be empty"),
    ("buyer.address.country", DELETE, "is required"),
    ("buyer.address.country", "Italia", "must be an ISO 3166-1 alpha-2 country code"),
    ("supplier.address.street", ["Via Roma", "1"], "must be a string"),
    ("buyer.address.postalCode", 187, "must be a string"),
    ("lines", DELETE, "is required"),
    ("lines", [], "must contain at least 1 item"),
    ("lines", {"description": "x"}, "must be an array"),
    ("lines[1]", "Support hours", "must be an object"),
    ("lines[0].description", DELETE, "is required"),
    ("lines[1].description", "", "must not be empty"),
    ("lines[0].quantity", DELETE, "is required"),
    ("lines[0].quantity", "1", "must be a number"),
    ("lines[0].quantity", True, "must be a number"),
    ("lines[1].unitPrice", DELETE, "is required"),
    ("lines[1].unitPrice", "125.00", "must be a number"),
    ("lines[0].taxCode", DELETE, "is required"),
    ("lines[0].taxCode", "22", "must be a valid EN16931 tax code"),
    ("lines[0].taxCode", "s", "must be a valid EN16931 tax code"),
    ("lines[1].unit", "hours", "must be a UN/CEFACT unit code (1 to 3 uppercase letters or digits)"),
    ("lines[1].unit", "hur", "must be a UN/CEFACT unit code (1 to 3 uppercase letters or digits)"),
    ("payment", "SEPA", "must be an object"),
    ("payment.iban", "IT60X0542811101000000123457", "must be a valid IBAN without spaces"),
    ("payment.iban", "IT60 X054 2811 1010 0000 0123 456", "must be a valid IBAN without spaces"),
    ("payment.bic", "BPPI", "must be a valid BIC"),
    ("payment.paymentMeans", "CHEQUE", "must be one of: SEPA, CREDIT_TRANSFER, CASH"),
    ("payment.paymentReference", 18539007547034, "must be a string"),
    ("originalInvoiceRef", 1, "must be a string"),
    ("customerReference", {"order": 1}, "must be a string"),
    ("countryData", [], "must be an object"),
    ("countryData.it", "KRRH6B9", "must be an object"),
    ("countryData.it.codiceDestinatario", "KRRH6B", "must be 7 letters or digits"),
    ("countryData.it.codiceDestinatario", "KRRH-6B", "must be 7 letters or digits"),
    ("countryData.it.pecDestinatario", "fatture at pec.it", "must be an e-mail address"),
    ("countryData.it.codiceFiscale", 123, "must be a string"),
    ("countryData.de.buyerReference", 4011000, "must be a string"),
]


@pytest.mark.parametrize(
    ("field", "value", "message"), BAD_BODIES, ids=[f"{field}={value!r}" for field, value, _ in BAD_BODIES]
)
def test_each_body_rule_is_a_400_violation_on_its_field(clearvo, field, value, message):
    response = clearvo.post(changed(FULL, field, value))

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["message"] == "Request body validation failed"
    assert violations(response) == [(field, message)]
    assert not InvoiceSubmission.objects.exists()


@pytest.mark.parametrize(
    ("raw", "message"),
    [("1.1234567", "must have at most 6 decimal places"), ("0.10000000", None), ("1.123456", None), ("1e2", None)],
)
def test_quantity_has_at_most_six_decimals(clearvo, raw, message):
    body = json.dumps(IT).replace('"quantity": 8', f'"quantity": {raw}')

    response = clearvo.post(body=body)

    if message:
        assert violations(response) == [("lines[1].quantity", message)]
    else:
        assert response.status_code == 200, response.text


def test_every_violation_is_reported_at_once(clearvo):
    payload = changed(changed(changed(IT, "currency", "CHF"), "lines[0].taxCode", "X"), "buyer.address", DELETE)
    payload["lines"][1]["quantity"] = "8"

    response = clearvo.post(payload)

    assert violations(response) == [
        ("currency", "must be one of: EUR, PLN, GBP, USD"),
        ("buyer.address", "is required"),
        ("lines[0].taxCode", "must be a valid EN16931 tax code"),
        ("lines[1].quantity", "must be a number"),
    ]


@pytest.mark.parametrize("body", ["", "not json", "[1, 2]", '"invoice"', "null", '{"quantity": NaN}'])
def test_a_body_that_is_not_a_json_object_is_a_400_on_body(clearvo, body):
    response = clearvo.post(body=body)

    assert response.status_code == 400
    assert violations(response) == [("body", "must be a JSON object")]


def test_every_optional_field_is_accepted_when_valid_and_null_counts_as_absent(clearvo):
    payload = changed(changed(FULL, "dueDate", "2024-02-15"), "taxPointDate", "2024-01-14")
    payload["customerReference"] = "PO-778"
    payload["originalInvoiceRef"] = None
    payload["buyer"]["address"]["street"] = None

    body = clearvo.submit(payload)

    assert body["clearanceStatus"] == "PENDING"
    invoice_row = InvoiceSubmission.objects.get()
    assert invoice_row.payload["countryData"]["pl"] == {"kSeFToken": 12345}


# --- 422: country rules -------------------------------------------------------------------------

BAD_FOR_COUNTRY = [
    (
        changed(changed(IT, "lines[0].taxCode", "AE"), "buyer.taxId", DELETE),
        [("buyer.taxId", "is required for reverse charge (taxCode AE)")],
    ),
    (
        changed(changed(IT, "lines[1].taxCode", "AE"), "supplier.taxId", DELETE),
        [("supplier.taxId", "is required for reverse charge (taxCode AE)")],
    ),
    (
        changed(IT, "supplier.taxId", "01234560158"),
        [("supplier.taxId", "is not a valid Italian Partita IVA (check digit)")],
    ),
    (
        changed(invoice("PL"), "buyer.taxId", "5260250275"),
        [("buyer.taxId", "is not a valid Polish NIP (checksum)")],
    ),
    (
        changed(changed(invoice("DE"), "buyer.taxIdCountry", "PL"), "buyer.taxId", "1234567890"),
        [("buyer.taxId", "is not a valid Polish NIP (checksum)")],
    ),
    (
        changed(IT, "documentType", "credit_note"),
        [("originalInvoiceRef", "is required for credit_note and debit_note")],
    ),
    (
        changed(changed(IT, "documentType", "debit_note"), "originalInvoiceRef", " "),
        [("originalInvoiceRef", "is required for credit_note and debit_note")],
    ),
]


@pytest.mark.parametrize(
    ("payload", "expected"),
    BAD_FOR_COUNTRY,
    ids=["AE-buyer", "AE-supplier", "IT-iva", "PL-nip", "PL-nip-abroad", "credit-note", "debit-note"],
)
def test_each_country_rule_is_a_422_violation(clearvo, payload, expected):
    response = clearvo.post(payload)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "UNPROCESSABLE_ENTITY"
    assert response.json()["error"]["message"] == "Country-specific validation failed"
    assert violations(response) == expected
    assert not InvoiceSubmission.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        changed(IT, "lines[0].taxCode", "AE"),
        changed(changed(IT, "documentType", "credit_note"), "originalInvoiceRef", "INV-2023-099"),
        invoice("PL"),
    ],
    ids=["AE-with-both-ids", "credit-note-with-ref", "PL"],
)
def test_invoices_that_meet_the_country_rules_are_accepted(clearvo, payload):
    assert clearvo.submit(payload)["clearanceStatus"] == "PENDING"


def test_a_400_is_answered_before_the_422_rules_run(clearvo):
    payload = changed(changed(IT, "documentType", "credit_note"), "currency", "CHF")

    response = clearvo.post(payload)

    assert response.status_code == 400
    assert violations(response) == [("currency", "must be one of: EUR, PLN, GBP, USD")]


# --- idempotency --------------------------------------------------------------------------------

VERSION_1 = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"  # a valid UUID, but of version 1 (time and MAC address)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "is required"),
        ("", "is required"),
        ("invoice-42", "must be a UUID v4"),
        (VERSION_1, "must be a UUID v4"),
        ("63e7eab9-3d79-56c5-83af-168112bc0154", "must be a UUID v4"),  # version 5
        ("a3f9c2d1-e847-4b6a-1c12-d3f0e1a2b7c8", "must be a UUID v4"),  # version 4, but not the RFC 4122 variant
        ("a3f9c2d1e8474b6a9c12d3f0e1a2b7c8", "must be a UUID v4"),  # the spec's key without its hyphens
        ("{a3f9c2d1-e847-4b6a-9c12-d3f0e1a2b7c8}", "must be a UUID v4"),
    ],
)
def test_post_needs_a_uuid_v4_idempotency_key(clearvo, key, message):
    headers = clearvo.headers() | ({"x-idempotency-key": key} if key is not None else {})

    response = clearvo.session.post(f"{clearvo.base_url}/invoices", json=IT, headers=headers, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert violations(response) == [("x-idempotency-key", message)]
    assert not InvoiceSubmission.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_a_malformed_key_is_a_400_even_on_a_body_the_422_rules_would_refuse(clearvo):
    credit_note_without_original = changed(IT, "documentType", "credit_note")
    headers = clearvo.headers() | {"x-idempotency-key": VERSION_1}

    response = clearvo.session.post(
        f"{clearvo.base_url}/invoices", json=credit_note_without_original, headers=headers, timeout=10
    )

    assert response.status_code == 400
    assert violations(response) == [("x-idempotency-key", "must be a UUID v4")]
    assert clearvo.post(credit_note_without_original).status_code == 422  # with a UUID v4 key


def test_the_same_key_and_payload_replay_the_cached_response(clearvo):
    key = str(uuid.uuid4())
    first = clearvo.post(IT, key=key)

    second = clearvo.post(body=json.dumps(IT, indent=2, sort_keys=True), key=key.upper())

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert InvoiceSubmission.objects.count() == 1
    logs = RequestLog.objects.filter(service="clearvo", operation="POST /invoices")
    assert sorted(log.idempotency_key.lower() for log in logs) == [key, key]
    assert [log.status for log in logs] == [200, 200]


def test_a_replay_is_not_detected_as_a_duplicate_invoice_number(clearvo):
    key = str(uuid.uuid4())
    reference_id = clearvo.submit(invoice("DE"), key=key)["referenceId"]

    replay = clearvo.submit(invoice("DE"), key=key)

    assert (replay["referenceId"], replay["clearanceStatus"]) == (reference_id, "ACCEPTED")


@pytest.mark.parametrize(
    ("payload", "status"), [(changed(IT, "currency", "CHF"), 400), (changed(IT, "supplier.taxId", "01234560158"), 422)]
)
def test_validation_failures_are_cached_too(clearvo, payload, status):
    key = str(uuid.uuid4())
    first = clearvo.post(payload, key=key)

    second = clearvo.post(payload, key=key)
    fixed = clearvo.post(IT, key=key)

    assert (first.status_code, second.status_code) == (status, status)
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert fixed.status_code == 409


def test_the_same_key_with_another_payload_is_409(clearvo):
    key = str(uuid.uuid4())
    clearvo.submit(IT, key=key)

    response = clearvo.post(changed(IT, "lines[0].unitPrice", 1001), key=key)

    assert response.status_code == 409
    assert response.json() == {
        "ok": False,
        "error": {
            "code": "IDEMPOTENCY_CONFLICT",
            "message": "A different payload was submitted with the same x-idempotency-key. Generate a new key.",
        },
    }
    assert InvoiceSubmission.objects.count() == 1


def test_a_key_older_than_24_hours_is_forgotten(clearvo):
    key = str(uuid.uuid4())
    first = clearvo.submit(invoice("PL", "FV/2024/1"), key=key)
    created_at = IdempotencyRecord.objects.get().created_at
    IdempotencyRecord.objects.update(created_at=created_at - timedelta(hours=24, seconds=1))

    second = clearvo.post(invoice("PL", "FV/2024/2"), key=key)

    assert second.status_code == 200
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["referenceId"] != first["referenceId"]
    assert InvoiceSubmission.objects.count() == 2
    [record] = IdempotencyRecord.objects.all()
    assert record.response_body == second.json()


def test_a_key_just_under_24_hours_old_still_replays(clearvo):
    key = str(uuid.uuid4())
    clearvo.submit(IT, key=key)
    IdempotencyRecord.objects.update(created_at=IdempotencyRecord.objects.get().created_at - timedelta(hours=23))

    assert clearvo.post(IT, key=key).headers["Idempotent-Replayed"] == "true"


def test_idempotency_keys_belong_to_one_api_key(clearvo, other_clearvo):
    key = str(uuid.uuid4())
    mine = clearvo.submit(IT, key=key)

    theirs = other_clearvo.post(changed(IT, "invoiceNumber", "X-1"), key=key)

    assert theirs.status_code == 200
    assert theirs.json()["referenceId"] != mine["referenceId"]


# --- entity id, scoping, routes ----------------------------------------------------------------


def test_the_entity_id_is_recorded_on_the_invoice_and_in_the_request_log(clearvo):
    key = str(uuid.uuid4())
    reference_id = clearvo.submit(IT, key=key, headers={"x-taxually-entity-id": "BE0403170701"})["referenceId"]

    assert InvoiceSubmission.objects.get(reference_id=reference_id).entity_id == "BE0403170701"
    log = RequestLog.objects.get(service="clearvo", idempotency_key=key)
    assert (log.entity_id, log.status) == ("BE0403170701", 200)


NOT_FOUND = {"ok": False, "error": {"code": "NOT_FOUND", "message": "No invoice with this referenceId"}}


def test_another_keys_invoice_is_404(clearvo, other_clearvo):
    reference_id = clearvo.submit(invoice("DE"))["referenceId"]

    response = other_clearvo.status(reference_id, "DE")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert clearvo.status(reference_id, "DE").status_code == 200


def test_an_unknown_id_or_another_country_is_404(clearvo):
    reference_id = clearvo.submit(invoice("DE"))["referenceId"]

    assert clearvo.status(reference_id, "IT").json() == NOT_FOUND
    assert clearvo.status("DE-20240115-ZZZZZZ", "DE").status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [("country", "is required"), ("id", "is required")]),
        ({"country": "IT"}, [("id", "is required")]),
        ({"id": "IT-20240115-ABCDEF"}, [("country", "is required")]),
        ({"country": "BE", "id": "x"}, [("country", "must be one of: IT, PL, ES, PT, FR, DE, RO, HU")]),
    ],
)
def test_the_status_query_needs_country_and_id(clearvo, params, expected):
    response = clearvo.session.get(
        f"{clearvo.base_url}/invoices/status", params=params, headers=clearvo.headers(), timeout=10
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert violations(response) == expected


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("GET", "/invoices", "POST"), ("PUT", "/invoices", "POST"), ("POST", "/invoices/status", "GET")],
)
def test_other_methods_are_405_with_a_json_envelope(clearvo, method, path, allowed):
    response = clearvo.session.request(method, f"{clearvo.base_url}{path}", headers=clearvo.headers(), timeout=10)

    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_an_unknown_path_is_a_json_404(clearvo):
    response = clearvo.session.get(f"{clearvo.base_url}/invoices/123", headers=clearvo.headers(), timeout=10)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
