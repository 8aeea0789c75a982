"""A test's end does not leak into the next: what the live server is still answering finishes before
the tables are emptied (tests/in_flight.py, tests/conftest.py)."""

import threading

import requests
from django.core.management.color import no_style
from django.db import connection
from django.test import override_settings

from sandbox.models import RequestLog
from tests.conftest import wait_until
from tests.in_flight import requests_in_flight


def test_the_flush_waits_for_a_request_the_live_server_is_still_answering(portal):
    answers = []

    def slow_call():
        answers.append(requests.post(f"{portal.url}/sandbox/clearvo/v1/invoices", json={}, timeout=30).status_code)

    with override_settings(SANDBOX_LATENCY_MS=1500, SANDBOX_FAULT_RATE=0.0):
        caller = threading.Thread(target=slow_call)
        caller.start()
        wait_until(lambda: requests_in_flight() == 1, timeout=10, interval=0.01, message="the call to arrive")
        connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), [RequestLog._meta.db_table]))

        assert requests_in_flight() == 0, "the flush returned while the call was still being answered"
        caller.join(30)
    assert answers == [401]
    assert not RequestLog.objects.exists(), "the call's log row was written after the flush"
