"""What every simulated API call goes through: latency, fault injection and the request log."""

import functools
import logging
import time

from django.contrib.auth.decorators import login_not_required
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults, live_settings
from sandbox.models import FaultPlan, Kind, RequestLog, When

logger = logging.getLogger(__name__)


class _ThrottledStream:
    """A request body read no faster than `bytes_per_second` (a slow link, for demos and tests)."""

    CHUNK = 64 * 1024

    def __init__(self, stream, bytes_per_second: int):
        self.stream = stream
        self.bytes_per_second = bytes_per_second

    def read(self, size=-1):
        data = self.stream.read(self.CHUNK if size is None or size < 0 else min(size, self.CHUNK))
        time.sleep(len(data) / self.bytes_per_second)
        return data

    def readline(self, size=-1):
        return self.stream.readline(size)


def _operation_name(operation, request) -> str:
    if not callable(operation):
        return operation
    try:
        return operation(request)
    except Exception:  # a malformed request still gets logged; the view answers it
        return ""


def fail_next(
    service: str,
    *,
    count: int = 1,
    status: int = 503,
    operation: str = "",
    when: str = When.BEFORE,
    kind: str = Kind.ERROR,
    retry_after: int | None = None,
    hold_seconds: float | None = None,
) -> FaultPlan:
    """Arranges for the next `count` calls to `service` (or to one `operation` of it) to fail.

    `when`: "before" the work (nothing stored) or "after" it is committed. `kind`: "error" (the
    service's own error body with `status`), "html" or "empty" (a gateway's `status`),
    "retry_later" (429 or 503 with Retry-After), "drop" (no answer), and after the work only
    "hold" (answered `hold_seconds` late), "truncated" or "invalid_json" (a body no parser reads).
    An impossible combination raises ValidationError.
    """
    plan = FaultPlan(
        service=service,
        operation=operation,
        when=when,
        kind=kind,
        status=status,
        retry_after=retry_after,
        hold_seconds=hold_seconds,
        remaining=count,
    )
    plan.full_clean()
    plan.save()
    return plan


def sandbox_api(service: str, *, operation="", fault_response):
    """Decorates a simulated API view.

    `operation` names the call in the log and in fault plans: a string, or a function of the
    request (e.g. the GraphQL fields asked for). The view may set `request.sandbox_caller` (the
    user or key, never a secret). `fault_response(status)` builds the service's own error body for
    injected faults. A fault before the view answers instead of it, so the call changes nothing; a
    fault after it spoils the answer to work the view has done and committed (see sandbox/faults.py).
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            with live_settings.pinned() as knobs:
                started = time.monotonic()
                if knobs.bandwidth_kbps:
                    # Django keeps the body stream here; nothing has read it yet.
                    request._stream = _ThrottledStream(request._stream, knobs.bandwidth_kbps * 1024)
                request.sandbox_operation = _operation_name(operation, request)
                request.sandbox_caller = ""
                if knobs.latency_ms:
                    time.sleep(knobs.latency_ms / 1000)
                fault = faults.planned(service, request.sandbox_operation, knobs) or faults.drawn(service, knobs)
                response = None if fault is not None and fault.before else view(request, *args, **kwargs)
                work_status = None if response is None else response.status_code
                answer = response if fault is None else faults.answer(fault, response, fault_response)
                dropped = fault is not None and fault.kind == Kind.DROP
                held = fault.hold_seconds if fault is not None and fault.kind == Kind.HOLD else 0
                RequestLog.objects.create(
                    service=service,
                    operation=request.sandbox_operation[:200],
                    method=request.method,
                    path=request.get_full_path()[:500],
                    status=0 if dropped else answer.status_code,
                    idempotency_key=request.headers.get("x-idempotency-key", "")[:100],
                    entity_id=request.headers.get("x-taxually-entity-id", "")[:200],
                    caller=request.sandbox_caller[:200],
                    fault_injected=fault is not None,
                    fault_when=fault.when if fault is not None else "",
                    fault_kind=fault.kind if fault is not None else "",
                    work_status=work_status if fault is not None else None,
                    duration_ms=int((time.monotonic() - started + held) * 1000),
                )
            # Logged first, so the log (and a test reading it) knows of the call while it is held.
            if dropped:
                return faults.drop_connection(request, answer)
            if held:
                time.sleep(held)
            return answer

        return csrf_exempt(login_not_required(wrapped))

    return decorator
