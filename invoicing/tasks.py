"""Celery tasks of invoicing: each takes a primary key (or nothing) and calls a service.

Services import this module to dispatch; the services a task calls are imported inside its body,
so that the import goes one way (docs/decisions.md, "Dispatching tasks").
"""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

# Submitting invoices (invoicing/submissions.py)


@shared_task
def send_submission(submission_id: int) -> str:
    """Sends one submission to Clearvo: its stored bytes under its stored idempotency key.

    No `autoretry_for` here: the retry policy lives in the outbox row (attempts, next_attempt_at,
    the key's lifetime), which schedules the next attempt itself and survives a lost task.
    """
    from invoicing import submissions

    return submissions.submission_send(submission_id)


@shared_task
def sweep_submissions(stale_after_seconds: int | None = None) -> int:
    """Dispatches again the sends whose task was lost or whose worker died; returns how many."""
    from invoicing import submissions

    seconds = settings.SUBMISSION_SWEEP_AFTER_SECONDS if stale_after_seconds is None else stale_after_seconds
    return len(submissions.submissions_sweep(stale_after=timedelta(seconds=seconds)))
