"""Faults on both sides of the work, over a real socket: what the client sees, and what Clearvo kept.

A fault after the work leaves the invoice stored and its idempotency key cached, exactly as a
success: only a retry with the same key is safe, and it gets the cached 200. A fault before the
work stores nothing, so the same key then submits afresh.
"""

import dataclasses
import json
import random
import time
import uuid
from datetime import timedelta

import pytest
import requests
from django.core.exceptions import ValidationError
from django.test import override_settings

from sandbox import faults, live_settings
from sandbox.clearvo.models import IdempotencyRecord, InvoiceSubmission
from sandbox.instrument import fail_next
from sandbox.models import FaultPlan, Kind, RequestLog, When
from tests.conftest import VENV_BIN, free_port
from tests.sandbox.clearvo_support import REQUEST_ID, Clearvo, invoice, italian_invoice, travel

POST = "POST /invoices"


def log_of(key: str) -> list[tuple]:
    """(status sent, fault when, fault kind, the work's own status) of each call with this key."""
    entries = RequestLog.objects.filter(idempotency_key=key).order_by("received_at", "id")
    return [(entry.status, entry.fault_when, entry.fault_kind, entry.work_status) for entry in entries]


def assert_stored_once_and_replayed(clearvo: Clearvo, payload: dict, key: str) -> dict:
    """The invoice is stored once under `key`, and a retry with that key gets its cached 200."""
    stored = InvoiceSubmission.objects.get()
    assert stored.idempotency_key == key
    assert IdempotencyRecord.objects.get().invoice == stored

    retried = clearvo.post(payload, key=key)

    assert retried.status_code == 200, retried.text
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["referenceId"] == stored.reference_id
    assert InvoiceSubmission.objects.count() == 1
    return retried.json()


def assert_nothing_stored_and_the_same_key_submits(clearvo: Clearvo, payload: dict, key: str) -> None:
    assert not InvoiceSubmission.objects.exists()
    assert not IdempotencyRecord.objects.exists()

    retried = clearvo.post(payload, key=key)

    assert retried.status_code == 200, retried.text
    assert "Idempotent-Replayed" not in retried.headers
    assert InvoiceSubmission.objects.get().reference_id == retried.json()["referenceId"]


# --- after the work -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status"),
    [("error", 500), ("error", 502), ("error", 504), ("html", 502), ("html", 504), ("empty", 502), ("empty", 504)],
)
def test_a_5xx_after_the_work_leaves_the_invoice_stored_and_the_same_key_gets_the_cached_200(clearvo, kind, status):
    fail_next("clearvo", operation=POST, when="after", kind=kind, status=status)
    key, payload = str(uuid.uuid4()), italian_invoice()

    failed = clearvo.post(payload, key=key)

    assert failed.status_code == status
    if kind == "error":
        assert failed.json()["error"]["code"] == "INTERNAL_ERROR"
        assert REQUEST_ID.fullmatch(failed.json()["error"]["requestId"])
    elif kind == "html":
        assert failed.headers["Content-Type"].startswith("text/html")
        assert f"<h1>{status} " in failed.text
    else:
        assert failed.content == b""
        assert "Content-Type" not in failed.headers
    assert_stored_once_and_replayed(clearvo, payload, key)
    assert log_of(key) == [(status, "after", kind, 200), (200, "", "", None)]


def test_a_dropped_connection_after_the_work_is_a_connection_error_and_the_invoice_is_stored(clearvo):
    fail_next("clearvo", operation=POST, when="after", kind="drop")
    key, payload = str(uuid.uuid4()), italian_invoice()

    with pytest.raises(requests.ConnectionError, match="without response"):
        clearvo.post(payload, key=key)

    assert_stored_once_and_replayed(clearvo, payload, key)
    assert log_of(key) == [(0, "after", "drop", 200), (200, "", "", None)]


def test_an_answer_held_past_the_client_timeout_is_a_read_timeout_and_the_invoice_is_already_stored(clearvo):
    fail_next("clearvo", operation=POST, when="after", kind="hold", hold_seconds=2)
    key, payload = str(uuid.uuid4()), italian_invoice()
    started = time.monotonic()

    with pytest.raises(requests.ReadTimeout):
        clearvo.post(payload, key=key, timeout=(5, 0.5))

    assert time.monotonic() - started < 1.5
    # Still held on the server: the retry is answered from the key's cache meanwhile.
    assert_stored_once_and_replayed(clearvo, payload, key)
    assert log_of(key)[0] == (200, "after", "hold", 200)
    time.sleep(2)  # the held answer goes out to a closed connection before the test ends


def test_a_client_that_waits_longer_than_the_hold_gets_the_answer(clearvo):
    fail_next("clearvo", operation=POST, when="after", kind="hold", hold_seconds=1)
    started = time.monotonic()

    response = clearvo.post(italian_invoice(), timeout=5)

    assert time.monotonic() - started >= 1
    assert response.status_code == 200
    assert response.json()["referenceId"] == InvoiceSubmission.objects.get().reference_id
    assert RequestLog.objects.get().duration_ms >= 1000


@pytest.mark.parametrize("kind", ["truncated", "invalid_json"])
def test_a_200_whose_body_is_not_json_after_the_work_and_the_same_key_gets_the_cached_200(clearvo, kind):
    fail_next("clearvo", operation=POST, when="after", kind=kind)
    key, payload = str(uuid.uuid4()), italian_invoice()

    spoiled = clearvo.post(payload, key=key)

    assert spoiled.status_code == 200
    assert spoiled.headers["Content-Type"] == "application/json"
    assert int(spoiled.headers["Content-Length"]) == len(spoiled.content)  # a whole answer, only unreadable
    with pytest.raises(requests.JSONDecodeError):
        spoiled.json()
    body = assert_stored_once_and_replayed(clearvo, payload, key)
    if kind == "truncated":
        assert 0 < len(spoiled.content) < len(json.dumps(body))
    assert log_of(key)[0] == (200, "after", kind, 200)


def test_a_fault_after_a_status_poll_has_still_advanced_the_lifecycle(clearvo):
    reference_id = clearvo.submit(italian_invoice())["referenceId"]
    travel(reference_id, timedelta(minutes=5))
    fail_next("clearvo", operation="GET /invoices/status", when="after", status=502)

    assert clearvo.status(reference_id, "IT").status_code == 502

    assert InvoiceSubmission.objects.get().clearance_status == "ACCEPTED"
    assert clearvo.poll(reference_id, "IT")["clearanceStatus"] == "ACCEPTED"


def test_a_fault_after_a_refused_submission_spoils_the_refusal_and_stores_nothing(clearvo):
    fail_next("clearvo", operation=POST, when="after", status=502)
    payload = invoice("IT")
    payload["lines"][0]["taxCode"] = "VAT22"
    key = str(uuid.uuid4())

    assert clearvo.post(payload, key=key).status_code == 502

    assert not InvoiceSubmission.objects.exists()
    cached = clearvo.post(payload, key=key)  # the 400 was cached as a success would be
    assert (cached.status_code, cached.headers["Idempotent-Replayed"]) == (400, "true")


# --- before the work ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "retry_after"),
    [
        ("error", 503, None),
        ("html", 502, None),
        ("html", 503, None),
        ("html", 504, None),
        ("empty", 502, None),
        ("empty", 503, None),
        ("empty", 504, None),
        ("retry_later", 503, 30),
        ("retry_later", 429, 2),
    ],
)
def test_a_gateway_error_before_the_work_stores_nothing(clearvo, kind, status, retry_after):
    fail_next("clearvo", operation=POST, kind=kind, status=status, retry_after=retry_after)
    key, payload = str(uuid.uuid4()), italian_invoice()

    failed = clearvo.post(payload, key=key)

    assert failed.status_code == status
    assert failed.headers.get("Retry-After") == (str(retry_after) if retry_after else None)
    if kind == "html":
        assert failed.headers["Content-Type"].startswith("text/html")
        assert f"<title>{status} " in failed.text and "nginx" in failed.text
    elif kind == "empty":
        assert failed.content == b""
    elif status == 429:
        assert failed.json()["ok"] is False
        assert failed.json()["error"]["code"] == "RATE_LIMITED"
    else:
        assert failed.json()["error"]["code"] == "INTERNAL_ERROR"
    assert_nothing_stored_and_the_same_key_submits(clearvo, payload, key)
    assert log_of(key)[0] == (status, "before", kind, None)


def test_retry_later_without_a_time_says_one_second(clearvo):
    fail_next("clearvo", kind="retry_later", status=429)

    assert clearvo.post(italian_invoice()).headers["Retry-After"] == "1"


def test_a_dropped_connection_before_the_work_stores_nothing(clearvo):
    fail_next("clearvo", operation=POST, kind="drop")
    key, payload = str(uuid.uuid4()), italian_invoice()

    with pytest.raises(requests.ConnectionError, match="without response"):
        clearvo.post(payload, key=key)

    assert_nothing_stored_and_the_same_key_submits(clearvo, payload, key)
    assert log_of(key)[0] == (0, "before", "drop", None)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"when": "before", "kind": "hold"}, "cannot happen before the work"),
        ({"when": "before", "kind": "truncated"}, "cannot happen before the work"),
        ({"kind": "retry_later", "status": 500}, "Only 429 and 503"),
        ({"kind": "sideways"}, "not a valid choice"),
        ({"status": 200}, "greater than or equal to 400"),
    ],
)
def test_an_impossible_fault_plan_is_refused(db, fields, message):
    with pytest.raises(ValidationError, match=message):
        fail_next("clearvo", **fields)

    assert not FaultPlan.objects.exists()


def test_a_planned_fault_with_a_count_strikes_that_many_calls(clearvo):
    fail_next("clearvo", operation=POST, when="after", kind="empty", status=504, count=2)

    statuses = [clearvo.post(invoice("DE", f"RE-{n}")).status_code for n in range(3)]

    assert statuses == [504, 504, 200]
    assert InvoiceSubmission.objects.count() == 3


# --- random faults ------------------------------------------------------------------------------


def test_random_faults_after_the_work_store_the_invoice(clearvo):
    key, payload = str(uuid.uuid4()), italian_invoice()
    with override_settings(SANDBOX_FAULT_RATE=1.0, SANDBOX_AFTER_COMMIT_SHARE=1.0):
        failed = clearvo.post(payload, key=key)

    assert failed.status_code in (500, 502, 504)
    assert failed.json()["error"]["code"] == "INTERNAL_ERROR"
    assert_stored_once_and_replayed(clearvo, payload, key)


def test_random_faults_of_the_kinds_chosen_only(clearvo):
    only_drops = override_settings(SANDBOX_FAULT_RATE=1.0, SANDBOX_AFTER_COMMIT_SHARE=1.0, SANDBOX_FAULT_KINDS="drop")
    with only_drops, pytest.raises(requests.ConnectionError):
        clearvo.post(italian_invoice())

    assert InvoiceSubmission.objects.count() == 1


def test_random_faults_on_another_service_leave_clearvo_alone(clearvo):
    with override_settings(SANDBOX_FAULT_RATE=1.0, SANDBOX_FAULT_SERVICE="clearfacts-graphql"):
        assert clearvo.post(italian_invoice()).status_code == 200


def knobs(**values) -> live_settings.Knobs:
    return dataclasses.replace(live_settings.environment(), **values)


def test_thirty_percent_of_calls_fail_half_of_them_after_the_work():
    rng = random.Random(12)
    thirty_percent = knobs(fault_rate=0.3, after_commit_share=0.5, fault_kinds=tuple(Kind.values))
    draws = [faults.drawn("clearvo", thirty_percent, rng) for _ in range(20_000)]
    drawn = [fault for fault in draws if fault is not None]
    after = [fault for fault in drawn if fault.when == When.AFTER]

    assert 0.28 < len(drawn) / len(draws) < 0.32
    assert 0.47 < len(after) / len(drawn) < 0.53
    assert {fault.kind for fault in after} == set(faults.KINDS[When.AFTER])
    assert {fault.kind for fault in drawn if fault.when == When.BEFORE} == set(faults.KINDS[When.BEFORE])
    assert {fault.status for fault in after if fault.kind == Kind.ERROR} == {500, 502, 504}
    assert {fault.status for fault in drawn if fault.kind == Kind.RETRY_LATER} == {429, 503}
    assert all(1 <= fault.retry_after <= 3 for fault in drawn if fault.kind == Kind.RETRY_LATER)
    assert all(fault.hold_seconds == 35 for fault in drawn if fault.kind == Kind.HOLD)


def test_a_kind_that_exists_only_after_the_work_is_drawn_after_it_whatever_the_share():
    rng = random.Random(3)
    only_hold = knobs(fault_rate=1.0, after_commit_share=0.0, fault_kinds=("hold",), hold_seconds=12.5)

    draws = {faults.drawn("clearvo", only_hold, rng) for _ in range(50)}

    assert draws == {faults.Fault(When.AFTER, Kind.HOLD, None, None, 12.5)}


def test_no_random_fault_without_a_rate_or_on_another_service():
    rng = random.Random(5)

    assert faults.drawn("clearvo", knobs(fault_rate=0.0), rng) is None
    assert faults.drawn("clearvo", knobs(fault_rate=1.0, fault_service="clearfacts-oidc"), rng) is None
    assert faults.drawn("clearfacts-oidc", knobs(fault_rate=1.0, fault_service="clearfacts-oidc"), rng) is not None


# --- under gunicorn -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("worker_args", [[], ["--threads", "4"]], ids=["sync", "gthread"])
def test_under_gunicorn_a_dropped_connection_is_a_connection_error_too(
    clearvo, process_env, start_process, worker_args
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_process(
        [
            str(VENV_BIN / "gunicorn"),
            "portal.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--no-control-socket",
            *worker_args,
        ],
        process_env | {"SANDBOX": "1", "SITE_URL": base},
        name="gunicorn",
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{base}/healthz", timeout=5)
            break
        except requests.ConnectionError:
            assert server.popen.poll() is None and time.monotonic() < deadline, server.output()[-4000:]
            time.sleep(0.3)
    gunicorn = Clearvo(f"{base}/sandbox/clearvo/v1", clearvo.api_key)
    fail_next("clearvo", operation=POST, when="after", kind="drop")
    key, payload = str(uuid.uuid4()), italian_invoice()

    with pytest.raises(requests.ConnectionError, match="without response"):
        gunicorn.post(payload, key=key)

    assert_stored_once_and_replayed(gunicorn, payload, key)
    assert "Traceback" not in server.output()
