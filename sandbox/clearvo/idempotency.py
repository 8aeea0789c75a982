"""x-idempotency-key: one cached response per (API key, key) for 24 hours."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from sandbox.clearvo.models import ApiKey, IdempotencyRecord, InvoiceSubmission
from sandbox.clearvo.responses import conflict_body

# Real time: the time factor speeds up lifecycles, not key expiry.
TTL = timedelta(hours=24)
CACHED_STATUSES = frozenset({200, 400, 422})


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: dict
    invoice: InvoiceSubmission | None = None
    replayed: bool = False


def payload_hash(raw_body: bytes) -> str:
    """sha256 of the body as canonical JSON (sorted keys, no spaces), so formatting does not matter."""
    canonical = json.dumps(json.loads(raw_body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_call(*, api_key: ApiKey, key: str, payload_hash: str, call: Callable[[], ApiResponse]) -> ApiResponse:
    """Runs `call` once per key and payload: a replay gets the cached response, another payload a 409.

    `call` runs in the same transaction as the record it leaves behind. Two concurrent requests
    with one key collide on the record's unique constraint; the loser is rolled back and replayed.
    """
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _call_once(api_key=api_key, key=key, payload_hash=payload_hash, call=call)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _call_once(*, api_key: ApiKey, key: str, payload_hash: str, call: Callable[[], ApiResponse]) -> ApiResponse:
    now = timezone.now()
    record = IdempotencyRecord.objects.select_for_update().filter(api_key=api_key, key=key).first()
    if record is not None and record.created_at > now - TTL:
        if record.payload_hash != payload_hash:
            return ApiResponse(409, conflict_body())
        return ApiResponse(record.response_status, record.response_body, replayed=True)
    api_key.idempotency_records.filter(created_at__lte=now - TTL).delete()
    response = call()
    if response.status in CACHED_STATUSES:
        IdempotencyRecord.objects.create(
            api_key=api_key,
            key=key,
            payload_hash=payload_hash,
            response_status=response.status,
            response_body=response.body,
            invoice=response.invoice,
            created_at=now,
        )
    return response
