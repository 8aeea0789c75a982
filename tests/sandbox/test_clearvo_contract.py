"""Every example request of clearvo-api.txt, sent to the sandbox over a socket, gets the documented shape."""

import json
import uuid
from datetime import timedelta

import pytest
from django.conf import settings

from sandbox.clearvo.models import InvoiceSubmission
from sandbox.instrument import fail_next
from tests.sandbox.clearvo_support import (
    ISO_Z,
    NODE_EXAMPLE_BODY,
    QUICKSTART_BODY,
    REQUEST_ID,
    SPEC_IDEMPOTENCY_KEY,
    VALID_SUPPLIER_IVA,
    Clearvo,
    italian_invoice,
    parse_iso,
    travel,
    violations,
    with_valid_italian_ids,
)

SUBMISSION_FIELDS = {"ok", "country", "referenceId", "clearanceStatus", "terminal", "submittedAt", "nextPollAfter"}


@pytest.fixture
def clearvo_live(clearvo):
    return Clearvo(clearvo.base_url, settings.SANDBOX_CLEARVO_LIVE_KEY)


def assert_submission_shape(body: dict, *, country: str = "IT") -> None:
    assert set(body) == SUBMISSION_FIELDS
    assert body["ok"] is True
    assert body["country"] == country
    assert body["referenceId"].startswith(f"{country}-20240115-")
    assert len(body["referenceId"]) == len("IT-20240115-") + 6
    assert body["clearanceStatus"] == "PENDING"
    assert body["terminal"] is False
    assert ISO_Z.fullmatch(body["submittedAt"])
    assert parse_iso(body["nextPollAfter"]) - parse_iso(body["submittedAt"]) == timedelta(minutes=5)


def test_the_quickstart_curl_request_submits_a_pending_italian_invoice(clearvo_live):
    response = clearvo_live.post(body=with_valid_italian_ids(QUICKSTART_BODY), key=SPEC_IDEMPOTENCY_KEY)

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert_submission_shape(response.json())
    invoice = InvoiceSubmission.objects.get()
    assert invoice.api_key.environment == "live"
    assert invoice.idempotency_key == SPEC_IDEMPOTENCY_KEY
    assert invoice.payload["lines"][0]["unitPrice"] == 1000


def test_the_node_example_submits_a_pending_italian_invoice(clearvo):
    response = clearvo.post(body=with_valid_italian_ids(NODE_EXAMPLE_BODY))

    assert response.status_code == 200, response.text
    assert_submission_shape(response.json())


@pytest.mark.parametrize("body", [QUICKSTART_BODY, NODE_EXAMPLE_BODY], ids=["quickstart", "node"])
def test_the_spec_examples_own_partita_iva_numbers_fail_their_check_digit(clearvo, body):
    response = clearvo.post(body=body)

    assert response.status_code == 422
    assert response.json() == {
        "ok": False,
        "error": {
            "code": "UNPROCESSABLE_ENTITY",
            "message": "Country-specific validation failed",
            "violations": [
                {"field": "supplier.taxId", "message": "is not a valid Italian Partita IVA (check digit)"},
                {"field": "buyer.taxId", "message": "is not a valid Italian Partita IVA (check digit)"},
            ],
        },
    }
    assert not InvoiceSubmission.objects.exists()


def test_the_status_poll_example_returns_the_final_status_and_its_events(clearvo):
    submitted = clearvo.post(body=with_valid_italian_ids(NODE_EXAMPLE_BODY)).json()
    reference_id = submitted["referenceId"]
    travel(reference_id, timedelta(minutes=5))  # the client waited until nextPollAfter

    body = clearvo.poll(reference_id, "IT")

    assert set(body) == {"ok", "referenceId", "country", "clearanceStatus", "terminal", "events", "clearedAt"}
    assert body["ok"] is True
    assert (body["referenceId"], body["country"]) == (reference_id, "IT")
    assert (body["clearanceStatus"], body["terminal"]) == ("ACCEPTED", True)
    submitted_at = parse_iso(submitted["submittedAt"]) - timedelta(minutes=5)
    assert [(event["status"], parse_iso(event["at"])) for event in body["events"]] == [
        ("PENDING", submitted_at),
        ("ACCEPTED", submitted_at + timedelta(minutes=4)),
    ]
    for event in body["events"]:
        assert set(event) == {"status", "at", "message"}
        assert isinstance(event["message"], str)
    assert body["clearedAt"] == body["events"][1]["at"]


def test_a_status_poll_while_pending_has_next_poll_after(clearvo):
    submitted = clearvo.submit(italian_invoice("INV-2024-003-SLOW"))
    travel(submitted["referenceId"], timedelta(minutes=5))

    body = clearvo.poll(submitted["referenceId"], "IT")

    assert set(body) == {"ok", "referenceId", "country", "clearanceStatus", "terminal", "events", "nextPollAfter"}
    assert (body["clearanceStatus"], body["terminal"]) == ("PENDING", False)
    assert [event["status"] for event in body["events"]] == ["PENDING"]
    assert ISO_Z.fullmatch(body["nextPollAfter"])


def test_the_rejection_example_has_the_documented_error_object(clearvo):
    reference_id = clearvo.submit(italian_invoice("INV-2024-002-REJECT"))["referenceId"]
    travel(reference_id, timedelta(minutes=5))

    body = clearvo.poll(reference_id, "IT")

    assert body["clearanceStatus"] == "REJECTED"
    assert body["terminal"] is True
    assert ISO_Z.fullmatch(body["rejectedAt"])
    assert body["error"] == {
        "source": "SDI",
        "code": "00102",
        "message": "Partita IVA fornitore non trovata",
        "detail": f"Supplier tax ID {VALID_SUPPLIER_IVA} is not registered with the Italian Revenue Agency",
    }
    assert "clearedAt" not in body and "nextPollAfter" not in body and "mcDeadline" not in body


def test_the_validation_error_example_has_the_documented_envelope(clearvo):
    payload = italian_invoice()
    payload["lines"][0]["taxCode"] = "VAT22"

    response = clearvo.post(payload)

    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "Request body validation failed",
            "violations": [{"field": "lines[0].taxCode", "message": "must be a valid EN16931 tax code"}],
        },
    }
    assert violations(response) == [("lines[0].taxCode", "must be a valid EN16931 tax code")]


def test_an_internal_error_has_the_documented_envelope_with_a_request_id(clearvo):
    fail_next("clearvo", status=500)

    response = clearvo.post(italian_invoice())

    assert response.status_code == 500
    body = response.json()
    assert body["ok"] is False
    assert set(body["error"]) == {"code", "message", "requestId"}
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert body["error"]["message"] == "An unexpected error occurred"
    assert REQUEST_ID.fullmatch(body["error"]["requestId"])


def test_every_error_is_json_with_ok_false(clearvo):
    responses = [
        clearvo.session.post(f"{clearvo.base_url}/invoices", data="{}", timeout=10),  # 401
        clearvo.post(body="[]"),  # 400
        clearvo.status("IT-20240115-NOPE00", "IT"),  # 404
        clearvo.session.get(f"{clearvo.base_url}/invoices", headers=clearvo.headers(), timeout=10),  # 405
    ]

    assert [response.status_code for response in responses] == [401, 400, 404, 405]
    for response in responses:
        assert response.headers["Content-Type"] == "application/json"
        assert json.loads(response.text)["ok"] is False


def test_a_fresh_uuid_per_submission_is_what_the_spec_asks(clearvo):
    first = clearvo.submit(italian_invoice("INV-1"), key=str(uuid.uuid4()))
    second = clearvo.submit(italian_invoice("INV-2"), key=str(uuid.uuid4()))

    assert first["referenceId"] != second["referenceId"]
    assert InvoiceSubmission.objects.count() == 2
