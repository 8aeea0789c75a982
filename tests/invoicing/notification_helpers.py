"""Helpers (no tests) for the notification and submission-admin tests: Submission rows as the
outbox and the poller leave them, and Celery tasks run in this process for the length of a test."""

import hashlib
import uuid

import pytest

from invoicing.models import Submission
from portal.celery import app


def make_submission(invoice, submitted_by, *, body=b'{"invoiceNumber": "F-1"}', **fields) -> Submission:
    """A submission of `invoice` (QUEUED unless `fields` say otherwise), written straight into the database."""
    return Submission.objects.create(
        invoice=invoice,
        submitted_by=submitted_by,
        invoice_version=invoice.version,
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        idempotency_key=fields.pop("idempotency_key", uuid.uuid4()),
        **fields,
    )


@pytest.fixture
def tasks_run_here():
    """Tasks dispatched during the test run at once in this process (a retry too), errors raised.

    The worker process itself is exercised by the one slow test that starts one.
    """
    saved = {name: app.conf[name] for name in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(saved)
