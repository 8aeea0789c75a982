"""The live server's requests still being answered, so a test's flush can wait for them.

A request that arrives as a test ends (a worker's send, a browser's poll) is answered by a live-server
thread while the tables are truncated: it then reads the next test's data, or writes a row (the
sandbox's request log) into it. Only the tests' settings add this middleware, outermost."""

import threading
import time

_lock = threading.Lock()
_count = 0


def requests_in_flight() -> int:
    return _count


def wait_for_requests_in_flight(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _count and time.monotonic() < deadline:
        time.sleep(0.02)


class RequestsInFlightMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        global _count
        with _lock:
            _count += 1
        try:
            return self.get_response(request)
        finally:
            with _lock:
                _count -= 1
