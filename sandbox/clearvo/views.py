"""The simulated Clearvo REST API: POST /invoices and GET /invoices/status."""

import functools
import json
import logging
import uuid

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox.clearvo.idempotency import idempotent_call, payload_hash
from sandbox.clearvo.keys import api_key_authenticate
from sandbox.clearvo.lifecycle import invoice_poll
from sandbox.clearvo.models import ApiKey
from sandbox.clearvo.responses import (
    error_body,
    internal_error_body,
    not_found_body,
    rate_limited_body,
    status_body,
    too_many_requests_body,
    unauthorized_body,
    validation_error_body,
)
from sandbox.clearvo.services import invoice_submit
from sandbox.clearvo.validation import COUNTRIES, BodyError, Violation, parse_body
from sandbox.instrument import sandbox_api
from sandbox.models import Service

logger = logging.getLogger(__name__)


def fault_response(status: int) -> JsonResponse:
    """Clearvo's envelope for an injected fault: 429 is rate limiting, anything else an internal error."""
    if status == 429:
        return JsonResponse(too_many_requests_body(), status=status)
    return JsonResponse(internal_error_body(), status=status)


def json_errors(view):
    """Answers 405s and unexpected exceptions with Clearvo's JSON envelopes, not Django's pages."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Exception:
            logger.exception("Clearvo sandbox error on %s %s", request.method, request.path)
            return JsonResponse(internal_error_body(), status=500)
        if response.status_code == 405 and not isinstance(response, JsonResponse):
            allowed = response["Allow"]
            body = error_body("METHOD_NOT_ALLOWED", f"Method {request.method} is not allowed; use {allowed}")
            response = JsonResponse(body, status=405, headers={"Allow": allowed})
        return response

    return wrapped


def _authenticate(request: HttpRequest) -> ApiKey | None:
    api_key = api_key_authenticate(raw_key=request.headers.get("x-api-key"))
    if api_key is not None:
        request.sandbox_caller = api_key.prefix
    return api_key


def _idempotency_key(request: HttpRequest) -> tuple[str, list[Violation]]:
    raw = request.headers.get("x-idempotency-key", "").strip()
    if not raw:
        return "", [Violation("x-idempotency-key", "is required")]
    try:
        key = uuid.UUID(raw)
    except ValueError:
        key = None
    # The spec asks for "a UUID v4": its version digit 4, written the usual 8-4-4-4-12 way.
    if key is None or key.version != 4 or str(key) != raw.lower():
        return "", [Violation("x-idempotency-key", "must be a UUID v4")]
    return str(key), []


# /sandbox/clearvo/v1/invoices
@sandbox_api(Service.CLEARVO, operation="POST /invoices", fault_response=fault_response)
@json_errors
@require_http_methods(["POST"])
def invoices(request: HttpRequest) -> JsonResponse:
    api_key = _authenticate(request)
    if api_key is None:
        return JsonResponse(unauthorized_body(), status=401)
    key, violations = _idempotency_key(request)
    try:
        raw_body = request.body
        payload = parse_body(raw_body)
    except RequestDataTooBig:
        return JsonResponse(error_body("PAYLOAD_TOO_LARGE", "Request body too large"), status=413)
    except BodyError as error:
        violations.append(Violation("body", str(error)))
    if violations:
        return JsonResponse(validation_error_body(violations), status=400)
    response = idempotent_call(
        api_key=api_key,
        key=key,
        payload_hash=payload_hash(raw_body),
        call=lambda: invoice_submit(
            api_key=api_key,
            payload=payload,
            stored_payload=json.loads(raw_body),
            idempotency_key=key,
            entity_id=request.headers.get("x-taxually-entity-id", ""),
        ),
    )
    headers = {"Idempotent-Replayed": "true"} if response.replayed else {}
    return JsonResponse(response.body, status=response.status, headers=headers)


# /sandbox/clearvo/v1/invoices/status?country=..&id=..
@sandbox_api(Service.CLEARVO, operation="GET /invoices/status", fault_response=fault_response)
@json_errors
@require_http_methods(["GET"])
def invoice_status(request: HttpRequest) -> JsonResponse:
    api_key = _authenticate(request)
    if api_key is None:
        return JsonResponse(unauthorized_body(), status=401)
    country, reference_id = request.GET.get("country", "").strip(), request.GET.get("id", "").strip()
    violations = []
    if not country:
        violations.append(Violation("country", "is required"))
    elif country not in COUNTRIES:
        violations.append(Violation("country", f"must be one of: {', '.join(COUNTRIES)}"))
    if not reference_id:
        violations.append(Violation("id", "is required"))
    if violations:
        return JsonResponse(validation_error_body(violations, "Query parameter validation failed"), status=400)
    poll = invoice_poll(api_key=api_key, reference_id=reference_id, country=country)
    if poll.invoice is None:
        return JsonResponse(not_found_body(), status=404)
    if poll.retry_after is not None:
        return JsonResponse(
            rate_limited_body(poll.invoice, poll.retry_after),
            status=429,
            headers={"Retry-After": str(poll.retry_after)},
        )
    return JsonResponse(status_body(poll.invoice))


@csrf_exempt
@login_not_required
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    return JsonResponse(not_found_body(f"No route {request.method} /{path}"), status=404)
