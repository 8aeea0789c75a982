"""Injected faults: where one comes from (a plan, or the random rate) and how it is answered.

Real services fail on both sides of the work. A fault BEFORE the work answers instead of the view,
so nothing is stored. A fault AFTER it lets the view run and commit (an invoice stored, its
idempotency key cached, exactly as a success) and then spoils the answer: an error, no answer at
all, an answer too late, or a 200 whose body cannot be read. Only a retry with the same
idempotency key is safe after those; README.md ("The sandbox") has the table.
"""

import logging
import random
import socket
import socketserver
import sys
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from sandbox.live_settings import Knobs
from sandbox.models import KINDS, RETRY_LATER_STATUSES, STATUS_KINDS, FaultPlan, Kind, When

logger = logging.getLogger(__name__)

# Statuses a random fault draws from, per side of the work and kind.
RANDOM_STATUSES = {
    (When.BEFORE, Kind.ERROR): (500, 502, 503),
    (When.AFTER, Kind.ERROR): (500, 502, 504),
    Kind.HTML: (502, 503, 504),
    Kind.EMPTY: (502, 503, 504),
    Kind.RETRY_LATER: RETRY_LATER_STATUSES,
}
RANDOM_RETRY_AFTER = (1, 3)  # seconds, inclusive
DEFAULT_RETRY_AFTER = 1
# A JSON-hijacking guard some APIs put before their JSON: a 200 no JSON parser reads.
INVALID_JSON_PREFIX = b")]}',\n"
GATEWAY_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


@dataclass(frozen=True)
class Fault:
    when: str
    kind: str
    status: int | None = None  # for the kinds that answer with a status of their own
    retry_after: int | None = None  # seconds, sent as Retry-After
    hold_seconds: float = 0.0

    @property
    def before(self) -> bool:
        return self.when == When.BEFORE


def planned(service: str, operation: str, knobs: Knobs) -> Fault | None:
    """The next fault planned for this call (fail_next or the admin), using up one of its count."""
    with transaction.atomic():
        plan = (
            FaultPlan.objects.select_for_update()
            .filter(service=service, remaining__gt=0, operation__in=["", operation])
            .first()
        )
        if plan is None:
            return None
        plan.remaining -= 1
        if plan.remaining:
            plan.save(update_fields=["remaining"])
        else:
            plan.delete()
    retry_after = plan.retry_after
    if retry_after is None and plan.kind == Kind.RETRY_LATER:
        retry_after = DEFAULT_RETRY_AFTER
    return Fault(
        when=plan.when,
        kind=plan.kind,
        status=plan.status if plan.kind in STATUS_KINDS else None,
        retry_after=retry_after,
        hold_seconds=knobs.hold_seconds if plan.hold_seconds is None else plan.hold_seconds,
    )


def drawn(service: str, knobs: Knobs, rng: random.Random | None = None) -> Fault | None:
    """A random fault at the knobs' rate, after the work at their share, of one of their kinds."""
    rng = rng or random
    if not knobs.fault_rate or (knobs.fault_service and knobs.fault_service != service):
        return None
    if rng.random() >= knobs.fault_rate:
        return None
    sides = [When.AFTER, When.BEFORE] if rng.random() < knobs.after_commit_share else [When.BEFORE, When.AFTER]
    # A kind that only exists on one side of the work (a held answer) is drawn on that side.
    for when in sides:
        kinds = [kind for kind in knobs.fault_kinds if kind in KINDS[when]]
        if kinds:
            kind = rng.choice(kinds)
            break
    else:
        when, kind = When.BEFORE, Kind.ERROR
    statuses = RANDOM_STATUSES.get((when, kind)) or RANDOM_STATUSES.get(kind)
    return Fault(
        when=when,
        kind=kind,
        status=rng.choice(statuses) if statuses else None,
        retry_after=rng.randint(*RANDOM_RETRY_AFTER) if kind == Kind.RETRY_LATER else None,
        hold_seconds=knobs.hold_seconds if kind == Kind.HOLD else 0.0,
    )


def gateway_page(status: int) -> bytes:
    """The error page a reverse proxy (nginx) shows when the service behind it fails."""
    title = f"{status} {GATEWAY_REASONS.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


def answer(fault: Fault, response: HttpResponse | None, fault_response: Callable[[int], HttpResponse]):
    """What the client is sent for `fault`; `response` is the view's (None before the work).

    A dropped connection and a held answer are carried out by the caller, once the call is logged:
    the first gets the view's response back (never sent), the second the response to send late.
    """
    if fault.kind == Kind.ERROR or fault.kind == Kind.RETRY_LATER:
        spoiled = fault_response(fault.status)
    elif fault.kind == Kind.HTML:
        spoiled = HttpResponse(gateway_page(fault.status), status=fault.status, content_type="text/html")
    elif fault.kind == Kind.EMPTY:
        spoiled = HttpResponse(b"", status=fault.status)
        del spoiled["Content-Type"]
    elif fault.kind == Kind.TRUNCATED:
        spoiled = response
        spoiled.content = response.content[: len(response.content) // 2]
    elif fault.kind == Kind.INVALID_JSON:
        spoiled = response
        spoiled.content = INVALID_JSON_PREFIX + response.content
    else:  # DROP, HOLD
        return response if response is not None else HttpResponse(b"")
    if spoiled.has_header("Content-Length"):
        spoiled["Content-Length"] = str(len(spoiled.content))
    if fault.retry_after is not None:
        spoiled["Retry-After"] = str(fault.retry_after)
    return spoiled


def _client_socket(request: HttpRequest) -> tuple[socket.socket | None, object | None]:
    """The connection this request came in on, and the server's handler of it where there is one.

    gunicorn hands its socket to the application; runserver and the test live server (wsgiref)
    do not, but their request handler is a caller of this view in the same thread.
    """
    sock = request.META.get("gunicorn.socket")
    if sock is not None:
        return sock, None
    frame = sys._getframe(1)
    while frame is not None:
        handler = frame.f_locals.get("self")
        if isinstance(handler, socketserver.StreamRequestHandler):
            return handler.connection, handler
        frame = frame.f_back
    return None, None


def drop_connection(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Closes the client's connection without an answer; the server's attempt to send `response` fails.

    Both servers take a failed send on a closed connection as a client that went away and stay
    quiet. Under a server without a reachable socket (Django's test client) the connection error
    is raised instead.
    """
    sock, handler = _client_socket(request)
    if sock is None:
        raise ConnectionResetError("the sandbox dropped the connection (no socket to close here)")
    if handler is not None:
        handler.close_connection = True  # no keep-alive read of a next request on it
    # A request body left unread would make the close a reset; a server that fails mid-work has read it.
    try:
        while request.read(64 * 1024):
            pass
    except OSError:
        pass
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # the client went first
        logger.debug("The client had already closed the connection the sandbox meant to drop")
    return response
