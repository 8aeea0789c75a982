"""The portal's one Clearvo client: one session, explicit timeouts, typed errors, answers checked.

`client_for(office)` picks the office's key (ClearvoAccount) or the platform default
(settings.CLEARVO_API_KEY). `submit` POSTs the exact bytes it is given with the idempotency key it
is given; `status` reads a submission's clearance. Each HTTP exchange is handed to `record` (raw:
status, body, transport error) so that the clearance record keeps every one.

Errors say whether a retry can help, and how: Unavailable (nothing was processed: retry freely),
OutcomeUnknown (Clearvo may have processed the request: retry only with the same key and body),
Invalid (400/422: fix the invoice), Conflict (409: a defect), NotAuthorized (401: fix the key).
"""

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal.http import ExternalSession

logger = logging.getLogger(__name__)

STATUSES = ("PENDING", "ACCEPTED", "REJECTED", "DUPLICATE", "UNDELIVERED")
TERMINAL = {"ACCEPTED", "REJECTED", "DUPLICATE"}
RESPONSE_BODY_LIMIT = 64 * 1024  # what an Exchange keeps of an answer


class ClearvoError(Exception):
    retryable = False

    def __init__(self, message: str = "", *, status_code: int = 0, retry_after: float | None = None, **details):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        self.details = details


class NotConfigured(ClearvoError):
    """No Clearvo key for this office and no platform default."""


class Unavailable(ClearvoError):
    """Clearvo did not process the request (refused connection, 429; any 5xx to a read): retry."""

    retryable = True


class OutcomeUnknown(ClearvoError):
    """The request may have been processed (timeout or dropped connection after sending, a 5xx to a
    POST, a 2xx body that is not what Clearvo promises): only the same key and body make a retry safe."""

    retryable = True


class AnswerInvalid(ClearvoError):
    """A status answer not in the shape the contract promises (reading again is harmless)."""

    retryable = True


class Invalid(ClearvoError):
    """400 or 422: the payload breaks Clearvo's rules; `violations` says where."""

    def __init__(self, message="", *, violations=None, **kwargs):
        super().__init__(message, **kwargs)
        self.violations = violations or []


class Conflict(ClearvoError):
    """409: another body was sent under this idempotency key. A defect of ours."""


class NotAuthorized(ClearvoError):
    """401: the API key is missing, wrong or inactive."""


@dataclass(frozen=True)
class SubmitAnswer:
    reference_id: str
    clearance_status: str
    terminal: bool
    submitted_at: datetime | None
    next_poll_after: datetime | None
    raw: dict = field(repr=False)


@dataclass(frozen=True)
class Event:
    status: str
    at: datetime
    message: str
    extra: dict


@dataclass(frozen=True)
class StatusAnswer:
    clearance_status: str
    terminal: bool
    events: list[Event]
    cleared_at: datetime | None
    rejected_at: datetime | None
    error: dict
    mc_deadline: datetime | None
    next_poll_after: datetime | None
    raw: dict = field(repr=False)


def _datetime(value, *, name: str, required: bool = False) -> datetime | None:
    if value is None and not required:
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise AnswerInvalid(f"{name} is not an ISO 8601 time: {value!r}")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.UTC)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


def _json_object(response: requests.Response) -> dict | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error_message(body: dict | None) -> str:
    error = (body or {}).get("error")
    return str(error.get("message", "")) if isinstance(error, dict) else ""


def _violations(body: dict | None) -> list[dict]:
    error = (body or {}).get("error")
    found = error.get("violations") if isinstance(error, dict) else None
    return [
        {"field": str(item.get("field", "")), "message": str(item.get("message", ""))}
        for item in (found if isinstance(found, list) else [])
        if isinstance(item, dict)
    ]


def _status(value, *, name="clearanceStatus") -> str:
    if value not in STATUSES:
        raise AnswerInvalid(f"{name} is not a known status: {value!r}")
    return value


def _terminal(body: dict, status: str) -> bool:
    terminal = body.get("terminal")
    if not isinstance(terminal, bool):
        raise AnswerInvalid(f"terminal is not a boolean: {terminal!r}")
    return terminal


def parse_submit_answer(body: dict | None) -> SubmitAnswer:
    if body is None or body.get("ok") is not True:
        raise AnswerInvalid("the answer to POST /invoices is not a JSON object with ok: true")
    reference_id = body.get("referenceId")
    if not isinstance(reference_id, str) or not reference_id.strip():
        raise AnswerInvalid("the answer to POST /invoices has no referenceId")
    status = _status(body.get("clearanceStatus"))
    return SubmitAnswer(
        reference_id=reference_id,
        clearance_status=status,
        terminal=_terminal(body, status),
        submitted_at=_datetime(body.get("submittedAt"), name="submittedAt"),
        next_poll_after=_datetime(body.get("nextPollAfter"), name="nextPollAfter"),
        raw=body,
    )


def _event(item) -> Event:
    if not isinstance(item, dict):
        raise AnswerInvalid("an event is not an object")
    message = item.get("message") or ""
    if not isinstance(message, str):
        raise AnswerInvalid("an event's message is not a string")
    extra = {key: value for key, value in item.items() if key not in ("status", "at", "message")}
    return Event(
        _status(item.get("status"), name="events[].status"),
        _datetime(item.get("at"), name="events[].at", required=True),
        message,
        extra,
    )


def parse_status_answer(body: dict | None) -> StatusAnswer:
    if body is None:
        raise AnswerInvalid("the status answer is not a JSON object")
    status = _status(body.get("clearanceStatus"))
    events = body.get("events", [])
    if not isinstance(events, list):
        raise AnswerInvalid("events is not a list")
    error = body.get("error") or {}
    if not isinstance(error, dict):
        raise AnswerInvalid("error is not an object")
    return StatusAnswer(
        clearance_status=status,
        terminal=_terminal(body, status),
        events=[_event(item) for item in events],
        cleared_at=_datetime(body.get("clearedAt"), name="clearedAt"),
        rejected_at=_datetime(body.get("rejectedAt"), name="rejectedAt"),
        error={key: str(error[key]) for key in ("source", "code", "message", "detail") if error.get(key) is not None},
        mc_deadline=_datetime(body.get("mcDeadline"), name="mcDeadline"),
        next_poll_after=_datetime(body.get("nextPollAfter"), name="nextPollAfter"),
        raw=body,
    )


class Clearvo:
    def __init__(self, *, api_key: str, base_url: str, session: requests.Session | None = None):
        if not api_key or not base_url:
            raise NotConfigured("no Clearvo API key or address is configured")
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.session = session or ExternalSession()

    def _exchange(self, method: str, path: str, *, record, sent_body: bool, **kwargs) -> requests.Response:
        """One HTTP exchange, recorded whatever happens; transport failures become typed errors."""
        headers = {"x-api-key": self.api_key, **kwargs.pop("headers", {})}
        started, clock = timezone.now(), time.monotonic()
        exchange = {"method": method, "path": path, "started_at": started, "status_code": 0, "response_body": ""}
        try:
            response = self.session.request(method, self.base_url + path, headers=headers, **kwargs)
            exchange |= {"status_code": response.status_code, "response_body": response.text[:RESPONSE_BODY_LIMIT]}
            return response
        except requests.ConnectTimeout as error:  # nothing reached Clearvo
            exchange["transport_error"] = type(error).__name__
            raise Unavailable("Clearvo could not be reached (connection timed out)") from error
        except requests.ConnectionError as error:
            exchange["transport_error"] = type(error).__name__
            # A refused connection sent nothing; a connection dropped after sending may have been processed.
            if sent_body and not _refused_before_sending(error):
                raise OutcomeUnknown("the connection to Clearvo was lost before its answer") from error
            raise Unavailable("Clearvo could not be reached") from error
        except requests.Timeout as error:
            exchange["transport_error"] = type(error).__name__
            if sent_body:
                raise OutcomeUnknown("Clearvo did not answer in time") from error
            raise Unavailable("Clearvo did not answer in time") from error
        except requests.RequestException as error:
            exchange["transport_error"] = type(error).__name__
            raise OutcomeUnknown("the exchange with Clearvo failed") from error
        finally:
            exchange["duration_ms"] = int((time.monotonic() - clock) * 1000)
            record(exchange)

    def submit(self, body: bytes, *, idempotency_key: str, entity_id: str, record) -> SubmitAnswer:
        headers = {
            "x-idempotency-key": idempotency_key,
            "x-taxually-entity-id": entity_id,
            "Content-Type": "application/json",
        }
        response = self._exchange("POST", "/invoices", record=record, sent_body=True, data=body, headers=headers)
        answer = _json_object(response)
        code = response.status_code
        if 200 <= code < 300:
            try:
                return parse_submit_answer(answer)
            except AnswerInvalid as error:  # it was processed, but we cannot read how
                raise OutcomeUnknown(f"Clearvo's answer could not be read: {error}", status_code=code) from error
        self._raise_for(response, answer, processed_may_be=True)
        raise AssertionError("unreachable")

    def status(self, *, country: str, reference_id: str, record) -> StatusAnswer:
        response = self._exchange(
            "GET",
            "/invoices/status",
            record=record,
            sent_body=False,
            params={"country": country, "id": reference_id},
        )
        answer = _json_object(response)
        if response.status_code == 200:
            return parse_status_answer(answer)
        self._raise_for(response, answer, processed_may_be=False)
        raise AssertionError("unreachable")

    def _raise_for(self, response: requests.Response, answer: dict | None, *, processed_may_be: bool):
        code, message = response.status_code, _error_message(answer)
        retry_after = _retry_after(response)
        if code in (400, 422):
            raise Invalid(message or "Clearvo refused the invoice", status_code=code, violations=_violations(answer))
        if code == 401:
            raise NotAuthorized(message or "Clearvo refused the API key", status_code=code)
        if code == 409:
            raise Conflict(message or "another body was sent under this idempotency key", status_code=code)
        # A gateway's 502, 503 or 504 can come after Clearvo stored the request behind it (the proxy
        # lost or gave up on the answer): for a POST every 5xx leaves the outcome unknown.
        if code == 429 or (code >= 500 and not processed_may_be):
            raise Unavailable(message or f"Clearvo answered {code}", status_code=code, retry_after=retry_after)
        if code >= 500:
            raise OutcomeUnknown(message or f"Clearvo answered {code}", status_code=code, retry_after=retry_after)
        raise AnswerInvalid(f"Clearvo answered {code}", status_code=code)


def _refused_before_sending(error: requests.ConnectionError) -> bool:
    text = repr(error)
    return "NewConnectionError" in text or "Connection refused" in text or "Name or service not known" in text


def client_for(office) -> Clearvo:
    """The Clearvo client acting with `office`'s key, or the platform's default key."""
    from invoicing.models import ClearvoAccount

    account = ClearvoAccount.objects.filter(office=office).first() if office is not None else None
    api_key = account.api_key if account else settings.CLEARVO_API_KEY
    return Clearvo(api_key=api_key, base_url=settings.CLEARVO_API_URL)


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def readable(body: bytes) -> dict:
    """The payload bytes as JSON, for showing (never for sending)."""
    return json.loads(body)
