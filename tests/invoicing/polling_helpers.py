"""Helpers (no tests) for the polling tests: invoices really sent to the live sandbox, as the outbox leaves them.

`sent(...)` POSTs an invoice's payload to the sandbox's Clearvo with the portal's own client and
records the Submission in state SENT, as invoicing.submissions does after a 200: reference id,
exact body, key, the POST's status, terminal and nextPollAfter as next_poll_at.
"""

import itertools
import time
import uuid
from datetime import date, timedelta

from django.utils import timezone

from invoicing import clearvo
from invoicing.models import Exchange, Invoice, Submission
from invoicing.payload import payload_bytes
from tests.invoicing.rules_examples import saved_invoice

_numbers = itertools.count(1)
MIRROR = {status: Invoice.Status(status.lower()) for status in Submission.ClearanceStatus.values}


def sent(administration, author, country: str = "IT", suffix: str = "", *, number: str | None = None) -> Submission:
    """An invoice to `country` whose number ends in `suffix` (a sandbox scenario), sent and recorded."""
    number = number or f"2026-{country}-{next(_numbers):05d}{suffix}"
    invoice = saved_invoice(administration, author, country, invoice_number=number, payment_reference=number[:35])
    body = payload_bytes(invoice)
    key = uuid.uuid4()
    exchanges = []
    answer = clearvo.client_for(administration.office).submit(
        body, idempotency_key=str(key), entity_id=administration.company_number, record=exchanges.append
    )
    submission = Submission.objects.create(
        invoice=invoice,
        submitted_by=author,
        invoice_version=invoice.version,
        body=body,
        body_sha256=clearvo.body_sha256(body),
        idempotency_key=key,
        api_mode="test",
        state=Submission.State.SENT,
        attempts=1,
        first_attempt_at=timezone.now(),
        reference_id=answer.reference_id,
        clearance_status=answer.clearance_status,
        terminal=answer.terminal,
        submitted_at=answer.submitted_at,
        next_poll_at=None if answer.terminal else answer.next_poll_after,
    )
    Exchange.objects.bulk_create(Exchange(submission=submission, **data) for data in exchanges)
    Invoice.objects.filter(pk=invoice.pk).update(status=MIRROR[answer.clearance_status])
    return submission


def make_due(*submissions) -> None:
    """Due now, as if nextPollAfter had come (the sandbox's own clock is not moved)."""
    Submission.objects.filter(pk__in=[s.pk for s in submissions]).update(next_poll_at=timezone.now())


def poll_until(predicate, *, poll, timeout: float = 20.0, interval: float = 0.05):
    """Runs `poll()` every `interval` seconds (as beat runs the task) until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        poll()
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not reached in {timeout} s")


def stored(administration, author, count: int, *, prefix: str = "OLD") -> None:
    """`count` submissions that are not due (finished, or due in an hour), bulk created: the ones a poller must not pay for."""
    later = timezone.now() + timedelta(hours=1)
    invoices = Invoice.objects.bulk_create(
        [
            Invoice(
                administration=administration,
                author=author,
                invoice_number=f"{prefix}-{n:07d}",
                issue_date=date(2026, 1, 15),
                country="IT",
                buyer_name="Cliente SpA",
                buyer_city="Roma",
                buyer_country="IT",
                status=Invoice.Status.ACCEPTED if n % 2 else Invoice.Status.PENDING,
            )
            for n in range(count)
        ],
        batch_size=1000,
    )
    Submission.objects.bulk_create(
        [
            Submission(
                invoice=invoice,
                submitted_by=author,
                invoice_version=1,
                body=b"{}",
                body_sha256="0" * 64,
                idempotency_key=uuid.uuid4(),
                state=Submission.State.SENT,
                reference_id=f"IT-20260115-{n:07d}",
                clearance_status="ACCEPTED" if n % 2 else "PENDING",
                terminal=bool(n % 2),
                next_poll_at=None if n % 2 else later,
            )
            for n, invoice in enumerate(invoices)
        ],
        batch_size=1000,
    )
