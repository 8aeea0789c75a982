"""Clearvo's JSON bodies: the success shapes and the error envelopes of the spec."""

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from sandbox.clearvo.models import ClearanceStatus, InvoiceSubmission
from sandbox.clearvo.validation import Violation

# Crockford's base32, as in the spec's example requestId (a ULID).
REQUEST_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z and whole seconds, as the spec shows."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_id() -> str:
    return "req_" + "".join(secrets.choice(REQUEST_ID_ALPHABET) for _ in range(26))


def error_body(code: str, message: str, **extra) -> dict:
    return {"ok": False, "error": {"code": code, "message": message, **extra}}


def internal_error_body() -> dict:
    return error_body("INTERNAL_ERROR", "An unexpected error occurred", requestId=request_id())


def unauthorized_body() -> dict:
    return error_body("UNAUTHORIZED", "Missing or invalid x-api-key")


def not_found_body(message: str = "No invoice with this referenceId") -> dict:
    return error_body("NOT_FOUND", message)


def conflict_body() -> dict:
    return error_body(
        "IDEMPOTENCY_CONFLICT",
        "A different payload was submitted with the same x-idempotency-key. Generate a new key.",
    )


def rate_limited_body(invoice: InvoiceSubmission, retry_after: int) -> dict:
    """The 429 for polling too often; it still names nextPollAfter, so a polling loop waits for it."""
    body = error_body("RATE_LIMITED", f"Polled too often before nextPollAfter; retry after {retry_after} s")
    return body | {"nextPollAfter": iso(invoice.next_poll_after)}


def too_many_requests_body() -> dict:
    return error_body("RATE_LIMITED", "Too many requests; retry after the time in the Retry-After header")


def validation_error_body(violations: Iterable[Violation], message: str = "Request body validation failed") -> dict:
    return error_body("VALIDATION_ERROR", message, violations=[violation.as_dict() for violation in violations])


def unprocessable_body(violations: Iterable[Violation]) -> dict:
    return error_body(
        "UNPROCESSABLE_ENTITY",
        "Country-specific validation failed",
        violations=[violation.as_dict() for violation in violations],
    )


def submission_body(invoice: InvoiceSubmission) -> dict:
    body = {
        "ok": True,
        "country": invoice.country,
        "referenceId": invoice.reference_id,
        "clearanceStatus": invoice.clearance_status,
        "terminal": invoice.terminal,
        "submittedAt": iso(invoice.submitted_at),
    }
    if not invoice.terminal:
        body["nextPollAfter"] = iso(invoice.next_poll_after)
    return body


def status_body(invoice: InvoiceSubmission) -> dict:
    """The status response; each optional field only in the status the spec gives it."""
    body = {
        "ok": True,
        "referenceId": invoice.reference_id,
        "country": invoice.country,
        "clearanceStatus": invoice.clearance_status,
        "terminal": invoice.terminal,
    }
    if invoice.clearance_status == ClearanceStatus.ACCEPTED:
        body["clearedAt"] = iso(invoice.cleared_at)
    elif invoice.clearance_status == ClearanceStatus.REJECTED:
        body["rejectedAt"] = iso(invoice.rejected_at)
        body["error"] = invoice.error
    elif invoice.clearance_status == ClearanceStatus.UNDELIVERED:
        body["mcDeadline"] = iso(invoice.mc_deadline)
    body["events"] = [
        {
            "status": event.status,
            "at": iso(event.at),
            **({"message": event.message} if event.message else {}),
            **event.extra,
        }
        for event in invoice.events.all()
    ]
    if not invoice.terminal:
        body["nextPollAfter"] = iso(invoice.next_poll_after)
    return body
