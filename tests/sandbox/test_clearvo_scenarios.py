"""Every documented authority rejection, reached by an invoice-number suffix; and the authority-side duplicate."""

import re
import uuid
from datetime import timedelta

import pytest

from sandbox.clearvo.models import InvoiceSubmission
from sandbox.clearvo.services import TRIGGERS, scenario_for
from tests.sandbox.clearvo_support import VALID_SUPPLIER_IVA, changed, invoice, italian_invoice, parse_iso, travel

XPATH = re.compile(r"/Faktura(/\w+(\[\d+\])?)+")
DECISION_WAIT = {"IT": timedelta(minutes=5), "PL": timedelta(minutes=1)}


def decided(clearvo, payload: dict) -> tuple[dict, dict]:
    """Submits, lets the authority decide, polls: (the POST body, the status body)."""
    submitted = clearvo.submit(payload)
    if payload["country"] in DECISION_WAIT:
        travel(submitted["referenceId"], DECISION_WAIT[payload["country"]])
    return submitted, clearvo.poll(submitted["referenceId"], payload["country"])


def assert_rejected(body: dict, source: str, code: str) -> dict:
    assert (body["clearanceStatus"], body["terminal"]) == ("REJECTED", True)
    assert body["rejectedAt"] == body["events"][-1]["at"]
    assert body["events"][-1]["status"] == "REJECTED"
    assert set(body["error"]) == {"source", "code", "message", "detail"}
    assert (body["error"]["source"], body["error"]["code"]) == (source, code)
    assert body["error"]["message"] and body["error"]["detail"]
    assert not {"clearedAt", "mcDeadline", "nextPollAfter"} & set(body)
    return body["error"]


@pytest.mark.parametrize(
    ("country", "number", "source", "code"),
    [
        ("IT", "INV-1-SDI00001", "SDI", "00001"),
        ("IT", "INV-2-SDI00002", "SDI", "00002"),
        ("IT", "INV-3-SDI00102", "SDI", "00102"),
        ("IT", "INV-4-SDI00201", "SDI", "00201"),
        ("PL", "FV/1-KSEF-INVALIDNIP", "KSeF", "InvalidNip"),
        ("PL", "FV/2-KSEF-DUPLICATE", "KSeF", "DuplicateInvoice"),
        ("PL", "FV/3-KSEF-SCHEMA", "KSeF", "SchemaValidationError"),
        ("DE", "RE-1-PEPPOL-REJECT", "PEPPOL_AP", "RE"),
    ],
)
def test_each_documented_rejection_has_a_scenario(clearvo, country, number, source, code):
    _, body = decided(clearvo, invoice(country, number))

    assert_rejected(body, source, code)


def test_sdi_00001_is_a_schema_violation_of_the_fatturapa_file(clearvo):
    _, body = decided(clearvo, italian_invoice("INV-1-SDI00001"))

    assert "FatturaPA 1.2 schema" in assert_rejected(body, "SDI", "00001")["detail"]


def test_sdi_00102_names_the_supplier_partita_iva(clearvo):
    _, body = decided(clearvo, italian_invoice("INV-3-sdi00102"))

    error = assert_rejected(body, "SDI", "00102")
    assert error["message"] == "Partita IVA fornitore non trovata"
    assert VALID_SUPPLIER_IVA in error["detail"]


def test_sdi_00201_names_the_recipient_code_the_invoice_gave(clearvo):
    payload = italian_invoice("INV-4-SDI00201") | {"countryData": {"it": {"codiceDestinatario": "ABC1234"}}}

    _, body = decided(clearvo, payload)

    assert "Codice Destinatario ABC1234" in assert_rejected(body, "SDI", "00201")["detail"]


def test_ksef_schema_validation_error_has_an_xpath_in_its_detail(clearvo):
    _, body = decided(clearvo, invoice("PL", "FV/3-KSEF-SCHEMA"))

    error = assert_rejected(body, "KSeF", "SchemaValidationError")
    assert XPATH.search(error["detail"]), error["detail"]
    assert "kSeFNumber" not in body["events"][-1]


def test_a_peppol_access_point_rejection_is_decided_on_the_post(clearvo):
    submitted = clearvo.submit(invoice("DE", "RE-1-PEPPOL-REJECT"))

    assert (submitted["clearanceStatus"], submitted["terminal"]) == ("REJECTED", True)
    body = clearvo.poll(submitted["referenceId"], "DE")
    assert_rejected(body, "PEPPOL_AP", "RE")
    assert body["events"][0]["peppolDelivered"] is False


def test_a_german_invoice_accepted_but_not_delivered_via_peppol(clearvo):
    submitted = clearvo.submit(invoice("DE", "RE-2-PEPPOL-UNDELIVERED"))

    assert (submitted["clearanceStatus"], submitted["terminal"]) == ("ACCEPTED", True)
    body = clearvo.poll(submitted["referenceId"], "DE")
    [event] = body["events"]
    assert (event["status"], event["peppolDelivered"]) == ("ACCEPTED", False)
    assert "Clearvo portal" in event["message"]
    assert body["clearedAt"] == event["at"]


def test_peppol_undelivered_is_not_italys_undelivered(clearvo):
    _, body = decided(clearvo, italian_invoice("INV-5-PEPPOL-UNDELIVERED"))

    assert body["clearanceStatus"] == "ACCEPTED"


def test_another_countrys_rejection_code_gets_this_countrys_usual_rejection(clearvo):
    _, body = decided(clearvo, invoice("PL", "FV/4-SDI00201"))

    assert_rejected(body, "KSeF", "InvalidNip")


def test_every_suffix_names_its_own_scenario():
    assert len({trigger.scenario for trigger in TRIGGERS}) == len(TRIGGERS)
    for trigger in TRIGGERS:
        assert scenario_for(f"INV-9{trigger.suffix.lower()}") == trigger.scenario


# --- the authority already holds this number ----------------------------------------------------


@pytest.mark.parametrize(
    ("country", "number", "ending"),
    [
        ("IT", "INV-2024-050", ("REJECTED", "SDI", "00002")),
        ("PL", "FV/2024/050", ("REJECTED", "KSeF", "DuplicateInvoice")),
        ("ES", "F-2024-050", ("DUPLICATE", None, None)),
        ("FR", "F-2024-050", ("DUPLICATE", None, None)),
        ("DE", "RE-2024-050", ("DUPLICATE", None, None)),
    ],
)
def test_the_same_number_under_a_new_key_is_a_duplicate_for_the_authority(clearvo, country, number, ending):
    payload, first_key = invoice(country, number), str(uuid.uuid4())
    first = clearvo.submit(payload, key=first_key)

    second = clearvo.submit(payload, key=str(uuid.uuid4()))  # a resend that forgot its key

    assert second["referenceId"] != first["referenceId"]
    assert InvoiceSubmission.objects.count() == 2
    for submitted in (first, second):
        travel(submitted["referenceId"], timedelta(minutes=5))
    assert clearvo.poll(first["referenceId"], country)["clearanceStatus"] == "ACCEPTED"
    body = clearvo.poll(second["referenceId"], country)
    status, source, code = ending
    if status == "REJECTED":
        error = assert_rejected(body, source, code)
        assert number in error["detail"] and first["referenceId"] in error["detail"]
    else:
        assert (body["clearanceStatus"], body["terminal"]) == ("DUPLICATE", True)
        assert first["referenceId"] in body["events"][-1]["message"]

    replayed = clearvo.post(payload, key=first_key)
    assert (replayed.status_code, replayed.json()) == (200, first)
    other_body = clearvo.post(changed(payload, "lines[0].quantity", 3), key=first_key)
    assert other_body.status_code == 409
    assert InvoiceSubmission.objects.count() == 2


def test_the_italian_duplicate_is_rejected_when_the_sdi_decides(clearvo):
    first = clearvo.submit(italian_invoice("INV-2024-051"))
    second = clearvo.submit(italian_invoice("INV-2024-051"))
    travel(first["referenceId"], timedelta(minutes=5))
    travel(second["referenceId"], timedelta(minutes=5))

    body = clearvo.poll(second["referenceId"], "IT")

    assert [event["status"] for event in body["events"]] == ["PENDING", "REJECTED"]
    assert parse_iso(body["rejectedAt"]) - parse_iso(body["events"][0]["at"]) == timedelta(minutes=4)


def test_the_same_number_to_another_country_or_after_a_rejection_is_no_duplicate(clearvo):
    clearvo.submit(invoice("FR", "N-7"))
    rejected = clearvo.submit(invoice("PL", "FV/7-KSEF-SCHEMA"))
    travel(rejected["referenceId"], timedelta(minutes=1))
    clearvo.poll(rejected["referenceId"], "PL")

    to_spain = clearvo.submit(changed(invoice("FR", "N-7"), "country", "ES"))
    resent = clearvo.submit(invoice("PL", "FV/7-KSEF-SCHEMA"))

    travel(to_spain["referenceId"], timedelta(minutes=1))
    assert clearvo.poll(to_spain["referenceId"], "ES")["clearanceStatus"] == "ACCEPTED"
    assert InvoiceSubmission.objects.get(reference_id=resent["referenceId"]).duplicate_of is None
