"""What the clearance pages' tests share: submissions written straight into the database, and a stand-in
for the outbox's services (invoicing.submissions) that keeps to their contract without sending anything."""

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from invoicing import payload, submissions
from invoicing.models import ClearanceEvent, Exchange, Invoice, Submission

State, Clearance = Submission.State, Submission.ClearanceStatus


def make_submission(invoice: Invoice, user, *, state=State.SENT, events=(), **fields) -> Submission:
    """A submission of `invoice` as the outbox and the poller leave it; `events` are (status, at, message, extra)."""
    body = payload.payload_bytes(invoice)
    values = {
        "invoice": invoice,
        "submitted_by": user,
        "invoice_version": invoice.version,
        "body": body,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "idempotency_key": uuid.uuid4(),
        "api_mode": "test",
        "state": state,
        "attempts": 0 if state == State.QUEUED else 1,
    }
    submission = Submission.objects.create(**(values | fields))
    for status, at, message, *extra in events:
        ClearanceEvent.objects.create(
            submission=submission, status=status, at=at, message=message, extra=extra[0] if extra else {}
        )
    return submission


def make_exchange(submission: Submission, *, at: datetime, status_code=200, body='{"ok": true}', **fields) -> Exchange:
    values = {"method": "POST", "path": "/invoices", "started_at": at, "duration_ms": 42}
    return Exchange.objects.create(
        submission=submission, status_code=status_code, response_body=body, **(values | fields)
    )


class Refused(Exception):
    """Stands for invoicing.submissions.SubmitRefused: a message for the user."""


@dataclass
class FakeOutbox:
    """invoice_submit, submission_retry and submission_release as their contract describes them, minus the send.

    `refuse` maps invoice numbers to the refusal message invoice_submit gives them (invoice_problems' job).
    """

    refuse: dict = field(default_factory=dict)
    submitted: list = field(default_factory=list)
    retried: list = field(default_factory=list)
    released: list = field(default_factory=list)

    def invoice_submit(self, *, invoice, user, expected_version):
        with transaction.atomic():
            locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
            active = locked.submissions.filter(state__in=Submission.ACTIVE).first()
            if active is not None:
                return active
            if not locked.is_editable:
                raise Refused(f"{locked.invoice_number} is not a draft")
            if locked.version != expected_version:
                raise Refused(f"{locked.invoice_number} changed since the page was opened")
            if locked.invoice_number in self.refuse:
                raise Refused(self.refuse[locked.invoice_number])
            self.submitted.append((locked.pk, expected_version, user.pk))
            locked.status = Invoice.Status.SUBMITTING
            locked.save(update_fields=["status"])
            return make_submission(locked, user, state=State.QUEUED)

    def submission_retry(self, *, submission, user):
        self.retried.append((submission.pk, user.pk))
        Submission.objects.filter(pk=submission.pk).update(state=State.RETRYING, updated_at=timezone.now())

    def submission_release(self, *, submission, user):
        self.released.append((submission.pk, user.pk))
        Submission.objects.filter(pk=submission.pk).update(state=State.CANCELLED)
        Invoice.objects.filter(pk=submission.invoice_id).update(status=Invoice.Status.DRAFT)


def fake_outbox(monkeypatch) -> FakeOutbox:
    """The outbox's services replaced by FakeOutbox (raising=False: they may not exist yet on this branch)."""
    fake = FakeOutbox()
    monkeypatch.setattr(submissions, "SubmitRefused", Refused, raising=False)
    for name in ("invoice_submit", "submission_retry", "submission_release"):
        monkeypatch.setattr(submissions, name, getattr(fake, name), raising=False)
    return fake
