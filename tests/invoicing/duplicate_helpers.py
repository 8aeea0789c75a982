"""Helpers (no tests) for the duplicate-number tests: an invoice that reached Clearvo without the portal
knowing, and an invoice followed until the authority's answer."""

from datetime import timedelta

from django.test import override_settings

from invoicing.models import Invoice, Submission
from invoicing.polling import submissions_poll_due
from invoicing.submissions import submission_release, submission_send
from sandbox.clearvo.models import InvoiceSubmission
from sandbox.instrument import fail_next
from tests.invoicing.polling_helpers import make_due, poll_until
from tests.invoicing.submit_helpers import submitted

POST = "POST /invoices"


def reached_then_released(invoice: Invoice, user) -> Submission:
    """Sent once: Clearvo stored it but its answer was lost, and the key's lifetime ran out before a retry,
    so the send was held; a person released it (the invoice is a draft again). The send task is the
    caller's to keep from the broker (`submissions._dispatch`)."""
    first = submitted(invoice, user)
    fail_next("clearvo", operation=POST, when="after", kind="error", status=500)
    with override_settings(CLEARVO_KEY_LIFETIME=timedelta(seconds=30)):
        assert submission_send(first.pk) == Submission.State.HELD
    submission_release(submission=first, user=user)
    assert InvoiceSubmission.objects.filter(idempotency_key=str(first.idempotency_key)).exists(), "it reached Clearvo"
    return first


def answered(invoice: Invoice, user) -> Submission:
    """The invoice submitted (a new key), sent, and followed by the poller until the authority's terminal answer."""
    invoice.refresh_from_db()
    submission = submitted(invoice, user)
    assert submission_send(submission.pk) == Submission.State.SENT
    make_due(submission)
    poll_until(lambda: Submission.objects.get(pk=submission.pk).terminal, poll=submissions_poll_due, timeout=15)
    return Submission.objects.select_related("invoice").get(pk=submission.pk)
