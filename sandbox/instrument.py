"""What every simulated API call goes through: latency, fault injection and the request log."""

import functools
import logging
import random
import time

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.views.decorators.csrf import csrf_exempt

from sandbox import live_settings
from sandbox.models import FaultPlan, RequestLog

logger = logging.getLogger(__name__)


def _planned_fault(service: str, operation: str) -> int | None:
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
        return plan.status


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


def fail_next(service: str, *, count: int = 1, status: int = 503, operation: str = "") -> FaultPlan:
    """Arrange for the next `count` calls to `service` to fail with `status`."""
    return FaultPlan.objects.create(service=service, operation=operation, status=status, remaining=count)


def sandbox_api(service: str, *, operation="", fault_response):
    """Decorates a simulated API view.

    `operation` names the call in the log and in fault plans: a string, or a function of the
    request (e.g. the GraphQL fields asked for). The view may set `request.sandbox_caller` (the
    user or key, never a secret). `fault_response(status)` builds the service's own error body for
    injected faults, which happen before the view runs, so a failed call changes nothing.
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
                status = _planned_fault(service, request.sandbox_operation)
                if status is None and knobs.fault_rate and random.random() < knobs.fault_rate:
                    status = random.choice([500, 502, 503])
                response = view(request, *args, **kwargs) if status is None else fault_response(status)
                RequestLog.objects.create(
                    service=service,
                    operation=request.sandbox_operation[:200],
                    method=request.method,
                    path=request.get_full_path()[:500],
                    status=response.status_code,
                    idempotency_key=request.headers.get("x-idempotency-key", "")[:100],
                    entity_id=request.headers.get("x-taxually-entity-id", "")[:200],
                    caller=request.sandbox_caller[:200],
                    fault_injected=status is not None,
                    duration_ms=int((time.monotonic() - started) * 1000),
                )
                return response

        return csrf_exempt(login_not_required(wrapped))

    return decorator
