"""Helpers (no tests) for the submission tests: drafts ready to submit, and what the sandbox received."""

import itertools
import json
import uuid

import requests
from django.conf import settings

from invoicing import profiles, services, submissions
from invoicing.models import Invoice, Submission
from sandbox.clearvo.models import InvoiceSubmission
from sandbox.models import RequestLog
from tests.invoicing.rules_examples import line_fields, saved_invoice

_numbers = itertools.count(1)


def ready_draft(administration, author, destination: str = "IT", **changes) -> Invoice:
    """A complete draft to `destination` with one line, its supplier copied from the administration's
    profile (as the editor does when it saves); the profile must be complete."""
    number = changes.pop("invoice_number", f"2026-{destination}-{next(_numbers):05d}")
    invoice = saved_invoice(
        administration,
        author,
        destination,
        lines=[line_fields()],
        invoice_number=number,
        payment_reference=number,
        **changes,
    )
    services.supplier_copy(invoice, profiles.profile_for(administration))
    invoice.save(update_fields=list(services.SUPPLIER_FIELDS))
    return invoice


def submitted(invoice: Invoice, user) -> Submission:
    return submissions.invoice_submit(invoice=invoice, user=user, expected_version=invoice.version)


def posts(submission: Submission | None = None):
    """The POST /invoices calls the sandbox received (for one submission's key)."""
    calls = RequestLog.objects.filter(service="clearvo", operation="POST /invoices").order_by("pk")
    return calls.filter(idempotency_key=str(submission.idempotency_key)) if submission else calls


def stored(submission: Submission):
    """The invoices the sandbox's Clearvo holds under this submission's invoice number."""
    return InvoiceSubmission.objects.filter(invoice_number=submission.invoice.invoice_number)


def body_with(submission: Submission, change) -> bytes:
    """The submission's body, read as JSON, changed by `change(body)`, written back as bytes."""
    body = json.loads(bytes(submission.body))
    change(body)
    return json.dumps(body, indent=2).encode()


def post_to_sandbox(body: bytes, *, idempotency_key: str, api_key: str | None = None) -> requests.Response:
    """A POST /invoices straight to the sandbox, as another client (or a dead worker) would have sent it."""
    headers = {
        "x-api-key": api_key or settings.SANDBOX_CLEARVO_TEST_KEY,
        "x-idempotency-key": idempotency_key,
        "Content-Type": "application/json",
    }
    return requests.post(f"{settings.CLEARVO_API_URL}/invoices", data=body, headers=headers, timeout=10)


def new_key() -> str:
    return str(uuid.uuid4())
