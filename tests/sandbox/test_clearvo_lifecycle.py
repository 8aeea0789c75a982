"""Clearance lifecycles per country, scenarios, duplicates, nextPollAfter and 429, faults, the seed."""

import math
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import override_settings

from sandbox.clearvo.lifecycle import EARLY_POLL_LIMIT
from sandbox.clearvo.models import ApiKey, IdempotencyRecord, InvoiceEvent, InvoiceSubmission
from sandbox.clearvo.seed import seed
from sandbox.instrument import fail_next
from sandbox.models import RequestLog
from tests.sandbox.clearvo_support import (
    REQUEST_ID,
    Clearvo,
    changed,
    invoice,
    italian_invoice,
    parse_iso,
    travel,
)

KSEF_NUMBER = re.compile(r"1234563218-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}")


def now() -> datetime:
    return datetime.now(UTC)


def statuses(body: dict) -> list[str]:
    return [event["status"] for event in body["events"]]


def submit_and_wait(clearvo: Clearvo, payload: dict, wait: timedelta) -> tuple[dict, dict]:
    """Submits, lets `wait` pass, polls: (the POST body, the status body)."""
    submitted = clearvo.submit(payload)
    travel(submitted["referenceId"], wait)
    return submitted, clearvo.poll(submitted["referenceId"], payload["country"])


# --- Italy --------------------------------------------------------------------------------------


def test_italy_stays_pending_until_the_sdi_decides_after_four_minutes(clearvo):
    submitted = clearvo.submit(italian_invoice())
    reference_id = submitted["referenceId"]
    travel(reference_id, timedelta(minutes=3, seconds=50))
    invoice_row = InvoiceSubmission.objects.get()
    invoice_row.next_poll_after = None  # as if polled without a previous hint
    invoice_row.save()

    pending = clearvo.poll(reference_id, "IT")

    assert (pending["clearanceStatus"], pending["terminal"], statuses(pending)) == ("PENDING", False, ["PENDING"])
    assert abs(parse_iso(pending["nextPollAfter"]) - (now() + timedelta(minutes=5))) < timedelta(seconds=3)

    travel(reference_id, timedelta(minutes=5))
    accepted = clearvo.poll(reference_id, "IT")

    submitted_at = parse_iso(accepted["events"][0]["at"])
    assert (accepted["clearanceStatus"], accepted["terminal"]) == ("ACCEPTED", True)
    assert parse_iso(accepted["clearedAt"]) == submitted_at + timedelta(minutes=4)
    assert accepted["events"][1]["at"] == accepted["clearedAt"]
    assert "nextPollAfter" not in accepted


def test_a_transition_is_written_once_at_its_scheduled_time(clearvo):
    submitted, first = submit_and_wait(clearvo, italian_invoice(), timedelta(minutes=30))

    second = clearvo.poll(submitted["referenceId"], "IT")

    assert first == second
    assert InvoiceEvent.objects.count() == 2


def test_italy_reject_ends_rejected_with_an_sdi_error(clearvo):
    _, body = submit_and_wait(clearvo, italian_invoice("INV-7-reject"), timedelta(minutes=5))

    assert (body["clearanceStatus"], body["terminal"], statuses(body)) == ("REJECTED", True, ["PENDING", "REJECTED"])
    assert body["rejectedAt"] == body["events"][1]["at"]
    assert body["error"]["source"] == "SDI"
    assert body["error"]["code"] == "00102"
    assert "01234560157" in body["error"]["detail"]
    assert not {"clearedAt", "mcDeadline", "nextPollAfter"} & set(body)


def test_italy_duplicate_scenario_ends_duplicate(clearvo):
    _, body = submit_and_wait(clearvo, italian_invoice("INV-8-DUPLICATE"), timedelta(minutes=5))

    assert (body["clearanceStatus"], body["terminal"], statuses(body)) == ("DUPLICATE", True, ["PENDING", "DUPLICATE"])
    assert not {"clearedAt", "rejectedAt", "error", "mcDeadline", "nextPollAfter"} & set(body)


def test_italy_slow_takes_28_minutes(clearvo):
    submitted, body = submit_and_wait(clearvo, italian_invoice("INV-9-SLOW"), timedelta(minutes=27))
    assert body["clearanceStatus"] == "PENDING"

    travel(submitted["referenceId"], timedelta(minutes=5))
    body = clearvo.poll(submitted["referenceId"], "IT")

    assert body["clearanceStatus"] == "ACCEPTED"
    assert parse_iso(body["clearedAt"]) - parse_iso(body["events"][0]["at"]) == timedelta(minutes=28)


def test_italy_undelivered_has_a_ten_day_mc_deadline_then_becomes_accepted(clearvo):
    submitted, body = submit_and_wait(clearvo, italian_invoice("INV-10-UNDELIVERED"), timedelta(minutes=5))
    decided_at = parse_iso(submitted["submittedAt"]) - timedelta(minutes=1)

    assert (body["clearanceStatus"], body["terminal"]) == ("UNDELIVERED", False)
    assert statuses(body) == ["PENDING", "UNDELIVERED"]
    assert parse_iso(body["events"][1]["at"]) == decided_at
    assert parse_iso(body["mcDeadline"]) == decided_at + timedelta(days=10)
    assert abs(parse_iso(body["nextPollAfter"]) - (now() + timedelta(hours=1))) < timedelta(seconds=3)
    assert not {"clearedAt", "rejectedAt", "error"} & set(body)

    travel(submitted["referenceId"], timedelta(days=10))
    body = clearvo.poll(submitted["referenceId"], "IT")

    assert (body["clearanceStatus"], body["terminal"]) == ("ACCEPTED", True)
    assert statuses(body) == ["PENDING", "UNDELIVERED", "ACCEPTED"]
    assert "delivery window ended" in body["events"][2]["message"]
    assert parse_iso(body["clearedAt"]) == decided_at  # mcDeadline, seen 10 days (of travel) later
    assert "mcDeadline" not in body and "nextPollAfter" not in body


def test_the_time_factor_scales_cadence_decision_and_mc_deadline(clearvo):
    with override_settings(SANDBOX_TIME_FACTOR=300.0):
        submitted = clearvo.submit(italian_invoice("INV-11-UNDELIVERED"))
        assert parse_iso(submitted["nextPollAfter"]) - parse_iso(submitted["submittedAt"]) == timedelta(seconds=1)
        time.sleep(1)  # the 4-minute decision takes 0.8 s
        body = clearvo.poll(submitted["referenceId"], "IT")

    assert body["clearanceStatus"] == "UNDELIVERED"
    deadline = parse_iso(body["mcDeadline"]) - parse_iso(body["events"][1]["at"])
    assert timedelta(minutes=47) <= deadline <= timedelta(minutes=49)  # 10 days / 300 = 48 min


def test_undelivered_outside_italy_is_accepted(clearvo):
    _, body = submit_and_wait(clearvo, invoice("ES", "F-1-UNDELIVERED"), timedelta(minutes=2))

    assert body["clearanceStatus"] == "ACCEPTED"


# --- Poland -------------------------------------------------------------------------------------


def test_poland_is_accepted_within_seconds_with_a_ksef_number_when_polled_as_the_spec_shows(clearvo):
    with override_settings(SANDBOX_TIME_FACTOR=30.0):  # decision after 1 s, cadence 2 s
        submitted = clearvo.submit(invoice("PL", "FV/2024/01/001"))
        assert submitted["clearanceStatus"] == "PENDING"
        started = time.monotonic()
        body = submitted
        while not body["terminal"]:
            assert time.monotonic() - started < 10
            wait = (parse_iso(body["nextPollAfter"]) - now()).total_seconds()
            time.sleep(max(wait, 0.1))
            body = clearvo.poll(submitted["referenceId"], "PL")

    assert (body["clearanceStatus"], statuses(body)) == ("ACCEPTED", ["PENDING", "ACCEPTED"])
    accepted = body["events"][1]
    assert KSEF_NUMBER.fullmatch(accepted["kSeFNumber"])
    assert accepted["kSeFNumber"].split("-")[1] == parse_iso(accepted["at"]).strftime("%Y%m%d")
    assert not RequestLog.objects.filter(status=429).exists()


def test_poland_decides_after_30_seconds_and_polls_every_minute(clearvo):
    submitted = clearvo.submit(invoice("PL"))
    assert parse_iso(submitted["nextPollAfter"]) - parse_iso(submitted["submittedAt"]) == timedelta(seconds=60)

    travel(submitted["referenceId"], timedelta(seconds=60))
    body = clearvo.poll(submitted["referenceId"], "PL")

    assert parse_iso(body["clearedAt"]) - parse_iso(body["events"][0]["at"]) == timedelta(seconds=30)


def test_a_supplier_without_a_polish_nip_gets_zeros_in_the_ksef_number(clearvo):
    payload = changed(changed(invoice("PL"), "supplier.taxIdCountry", "DE"), "supplier.taxId", "136695976")
    _, body = submit_and_wait(clearvo, payload, timedelta(minutes=1))

    assert body["events"][1]["kSeFNumber"].startswith("0000000000-")


def test_poland_reject_is_invalid_nip_from_ksef(clearvo):
    _, body = submit_and_wait(clearvo, invoice("PL", "FV/2024/02-REJECT"), timedelta(minutes=1))

    assert body["clearanceStatus"] == "REJECTED"
    assert (body["error"]["source"], body["error"]["code"]) == ("KSeF", "InvalidNip")
    assert "kSeFNumber" not in body["events"][1]


def test_poland_slow_takes_three_minutes(clearvo):
    submitted, body = submit_and_wait(clearvo, invoice("PL", "FV-3-SLOW"), timedelta(minutes=2))
    assert body["clearanceStatus"] == "PENDING"

    travel(submitted["referenceId"], timedelta(minutes=2))

    assert clearvo.poll(submitted["referenceId"], "PL")["clearanceStatus"] == "ACCEPTED"


# --- Germany ------------------------------------------------------------------------------------


def test_germany_is_accepted_and_terminal_on_the_post(clearvo):
    submitted = clearvo.submit(invoice("DE", "RE-2024-001"))

    assert (submitted["clearanceStatus"], submitted["terminal"]) == ("ACCEPTED", True)
    assert "nextPollAfter" not in submitted
    body = clearvo.poll(submitted["referenceId"], "DE")
    assert (body["clearanceStatus"], body["terminal"]) == ("ACCEPTED", True)
    [event] = body["events"]
    assert (event["status"], event["peppolDelivered"]) == ("ACCEPTED", True)
    assert body["clearedAt"] == submitted["submittedAt"] == event["at"]


def test_germany_reject_is_a_peppol_access_point_rejection_on_the_post(clearvo):
    submitted = clearvo.submit(invoice("DE", "RE-2024-002-REJECT"))

    assert (submitted["clearanceStatus"], submitted["terminal"]) == ("REJECTED", True)
    body = clearvo.poll(submitted["referenceId"], "DE")
    assert body["error"]["source"] == "PEPPOL_AP"
    assert body["rejectedAt"] == submitted["submittedAt"]


def test_germany_duplicate_scenario_on_the_post(clearvo):
    submitted = clearvo.submit(invoice("DE", "RE-2024-003-DUPLICATE"))

    assert (submitted["clearanceStatus"], submitted["terminal"]) == ("DUPLICATE", True)


# --- the other countries ------------------------------------------------------------------------

OTHER_COUNTRIES = [
    ("ES", "AEAT", timedelta(seconds=60), timedelta(seconds=60)),
    ("PT", "AT", timedelta(seconds=60), timedelta(seconds=60)),
    ("HU", "NAV", timedelta(seconds=60), timedelta(seconds=60)),
    ("FR", "DGFiP", timedelta(minutes=4), timedelta(minutes=5)),
    ("RO", "ANAF", timedelta(minutes=4), timedelta(minutes=5)),
]


@pytest.mark.parametrize(("country", "source", "decision", "cadence"), OTHER_COUNTRIES)
def test_other_countries_clear_asynchronously_at_their_pace(clearvo, country, source, decision, cadence):
    submitted = clearvo.submit(invoice(country))
    assert (submitted["clearanceStatus"], submitted["terminal"]) == ("PENDING", False)
    assert parse_iso(submitted["nextPollAfter"]) - parse_iso(submitted["submittedAt"]) == cadence

    travel(submitted["referenceId"], cadence)
    body = clearvo.poll(submitted["referenceId"], country)

    assert (body["clearanceStatus"], body["terminal"]) == ("ACCEPTED", True)
    assert parse_iso(body["clearedAt"]) - parse_iso(body["events"][0]["at"]) == decision
    assert source in body["events"][1]["message"]


@pytest.mark.parametrize(("country", "source", "decision", "cadence"), OTHER_COUNTRIES)
def test_other_countries_reject_with_their_authority_as_source(clearvo, country, source, decision, cadence):
    _, body = submit_and_wait(clearvo, invoice(country, "F-2024-9-REJECT"), cadence)

    assert body["clearanceStatus"] == "REJECTED"
    assert body["error"]["source"] == source
    assert body["error"]["code"] and body["error"]["message"] and body["error"]["detail"]


# --- real duplicates ----------------------------------------------------------------------------


def test_the_same_number_from_the_same_supplier_ends_duplicate(clearvo):
    # Italy and Poland reject a repeated number instead (test_clearvo_scenarios.py).
    first = clearvo.submit(invoice("FR", "F-2024-050"))
    second = clearvo.submit(changed(invoice("FR", "F-2024-050"), "lines[0].unitPrice", 999))
    assert second["clearanceStatus"] == "PENDING"
    travel(first["referenceId"], timedelta(minutes=5))
    travel(second["referenceId"], timedelta(minutes=5))

    assert clearvo.poll(first["referenceId"], "FR")["clearanceStatus"] == "ACCEPTED"
    body = clearvo.poll(second["referenceId"], "FR")
    assert (body["clearanceStatus"], body["terminal"]) == ("DUPLICATE", True)
    assert first["referenceId"] in body["events"][1]["message"]
    assert parse_iso(body["events"][1]["at"]) - parse_iso(body["events"][0]["at"]) == timedelta(minutes=4)


def test_germany_answers_a_duplicate_number_on_the_post(clearvo):
    clearvo.submit(invoice("DE", "RE-2024-060"))

    assert clearvo.submit(invoice("DE", "RE-2024-060"))["clearanceStatus"] == "DUPLICATE"


def test_a_supplier_without_tax_id_is_matched_by_name(clearvo):
    payload = changed(changed(invoice("DE", "RE-61"), "supplier.taxId", None), "supplier.taxIdCountry", None)
    clearvo.submit(payload)

    assert clearvo.submit(changed(payload, "supplier.name", "lieferant  gmbh"))["clearanceStatus"] == "DUPLICATE"


def test_another_supplier_or_a_rejected_original_is_not_a_duplicate(clearvo):
    clearvo.submit(invoice("DE", "RE-2024-070"))
    clearvo.submit(invoice("DE", "RE-2024-071-REJECT"))

    other_supplier = changed(invoice("DE", "RE-2024-070"), "supplier.taxId", "129273398")
    assert clearvo.submit(other_supplier)["clearanceStatus"] == "ACCEPTED"
    assert clearvo.submit(invoice("DE", "RE-2024-071-REJECT"))["clearanceStatus"] == "REJECTED"


# --- nextPollAfter and 429 ----------------------------------------------------------------------


def wait_for_clearance(clearvo: Clearvo, reference_id: str, country: str) -> tuple[dict, int]:
    """The spec's polling loop (waitForClearance), line by line; returns (the last body, polls made).

    As in JavaScript, a missing nextPollAfter makes the wait NaN, and NaN > 0 is false.
    """
    max_polls = 48
    polls = 0
    while polls < max_polls:
        polls += 1
        data = clearvo.status(reference_id, country).json()
        if data.get("terminal"):
            return data, polls
        next_poll_after = data.get("nextPollAfter")
        wait = (parse_iso(next_poll_after) - now()).total_seconds() if next_poll_after else math.nan
        if wait > 0:
            time.sleep(wait)
    raise AssertionError("Max polls reached — check Italy UNDELIVERED / mcDeadline")


def test_the_specs_polling_loop_right_after_the_post_waits_for_next_poll_after(clearvo):
    with override_settings(SANDBOX_TIME_FACTOR=300.0):  # decision after 0.8 s, cadence 1 s
        submitted = clearvo.submit(italian_invoice())
        started = time.monotonic()
        body, polls = wait_for_clearance(clearvo, submitted["referenceId"], "IT")

    assert body["clearanceStatus"] == "ACCEPTED"
    assert polls <= 4  # right after the POST, then about once a (scaled) cadence
    assert time.monotonic() - started < 5
    assert RequestLog.objects.filter(operation="GET /invoices/status").count() == polls
    assert not RequestLog.objects.filter(status=429).exists()


def test_polling_right_after_submission_answers_the_status_and_the_same_next_poll_after(clearvo):
    submitted = clearvo.submit(italian_invoice())

    body = clearvo.poll(submitted["referenceId"], "IT")

    assert (body["clearanceStatus"], body["terminal"]) == ("PENDING", False)
    assert body["nextPollAfter"] == submitted["nextPollAfter"]
    assert InvoiceSubmission.objects.get().next_poll_after == parse_iso(submitted["nextPollAfter"])


def test_an_early_poll_shows_a_decision_already_made(clearvo):
    submitted = clearvo.submit(italian_invoice())
    travel(submitted["referenceId"], timedelta(minutes=4, seconds=10))  # decided, 50 s before nextPollAfter

    body = clearvo.poll(submitted["referenceId"], "IT")

    assert (body["clearanceStatus"], body["terminal"]) == ("ACCEPTED", True)
    assert "nextPollAfter" not in body


def test_more_than_five_polls_before_next_poll_after_are_429_with_retry_after_and_next_poll_after(clearvo):
    submitted = clearvo.submit(italian_invoice())

    responses = [clearvo.status(submitted["referenceId"], "IT") for _ in range(EARLY_POLL_LIMIT + 2)]

    assert [response.status_code for response in responses] == [200] * EARLY_POLL_LIMIT + [429, 429]
    limited = responses[-1]
    retry_after = int(limited.headers["Retry-After"])
    assert 295 <= retry_after <= 300
    assert limited.json() == {
        "ok": False,
        "error": {
            "code": "RATE_LIMITED",
            "message": f"Polled too often before nextPollAfter; retry after {retry_after} s",
        },
        "nextPollAfter": submitted["nextPollAfter"],
    }
    assert InvoiceSubmission.objects.get().next_poll_after == parse_iso(submitted["nextPollAfter"])


def test_a_poll_on_time_gets_a_new_next_poll_after_and_a_fresh_allowance_of_early_polls(clearvo):
    submitted = clearvo.submit(invoice("FR", "F-1-SLOW"))
    for _ in range(EARLY_POLL_LIMIT + 1):
        clearvo.status(submitted["referenceId"], "FR")
    travel(submitted["referenceId"], timedelta(minutes=4, seconds=20))  # 40 s early: more than 10 % of 5 min
    assert clearvo.status(submitted["referenceId"], "FR").status_code == 429

    travel(submitted["referenceId"], timedelta(seconds=15))  # 25 s early: within 10 %, so on time
    body = clearvo.poll(submitted["referenceId"], "FR")

    assert body["clearanceStatus"] == "PENDING"
    assert abs(parse_iso(body["nextPollAfter"]) - (now() + timedelta(minutes=5))) < timedelta(seconds=3)
    early = [clearvo.status(submitted["referenceId"], "FR") for _ in range(EARLY_POLL_LIMIT)]
    assert [response.status_code for response in early] == [200] * EARLY_POLL_LIMIT
    assert {response.json()["nextPollAfter"] for response in early} == {body["nextPollAfter"]}


def test_terminal_invoices_are_never_rate_limited(clearvo):
    reference_id = clearvo.submit(invoice("DE"))["referenceId"]

    responses = [clearvo.status(reference_id, "DE") for _ in range(5)]

    assert [response.status_code for response in responses] == [200] * 5


# --- fault injection ----------------------------------------------------------------------------


def test_an_injected_fault_changes_nothing_and_the_retry_succeeds_once(clearvo):
    fail_next("clearvo", status=503, operation="POST /invoices")
    key = str(uuid.uuid4())

    failed = clearvo.post(italian_invoice(), key=key)

    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "INTERNAL_ERROR"
    assert REQUEST_ID.fullmatch(failed.json()["error"]["requestId"])
    assert not InvoiceSubmission.objects.exists()
    assert not IdempotencyRecord.objects.exists()

    retried = clearvo.post(italian_invoice(), key=key)
    replayed = clearvo.post(italian_invoice(), key=key)

    assert retried.status_code == replayed.status_code == 200
    assert replayed.json() == retried.json()
    assert InvoiceSubmission.objects.count() == 1
    logs = RequestLog.objects.filter(idempotency_key=key).order_by("received_at", "id")
    assert [(log.status, log.fault_injected) for log in logs] == [(503, True), (200, False), (200, False)]


def test_a_fault_on_the_status_poll_leaves_the_lifecycle_alone(clearvo):
    reference_id = clearvo.submit(invoice("DE"))["referenceId"]
    fail_next("clearvo", count=2, status=502, operation="GET /invoices/status")

    codes = [clearvo.status(reference_id, "DE").status_code for _ in range(3)]

    assert codes == [502, 502, 200]


def test_a_random_fault_rate_of_one_fails_every_call(clearvo):
    with override_settings(SANDBOX_FAULT_RATE=1.0):
        response = clearvo.post(italian_invoice())

    assert response.status_code in (500, 502, 503)
    assert not InvoiceSubmission.objects.exists()


# --- the seed -----------------------------------------------------------------------------------


def test_the_seed_is_idempotent_and_its_test_key_works(clearvo):
    ApiKey.objects.update(is_active=False, organisation="renamed")

    lines = seed()
    seed()

    assert ApiKey.objects.count() == 2
    assert set(ApiKey.objects.values_list("environment", "organisation", "is_active")) == {
        ("test", "Clearfacts portal (sandbox)", True),
        ("live", "Clearfacts portal (sandbox)", True),
    }
    assert f"Clearvo test key: {settings.SANDBOX_CLEARVO_TEST_KEY}" in lines
    assert not any(settings.SANDBOX_CLEARVO_LIVE_KEY in line for line in lines)
    assert clearvo.submit(invoice("DE"))["clearanceStatus"] == "ACCEPTED"
