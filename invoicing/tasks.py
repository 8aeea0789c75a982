"""Celery tasks of invoicing: each takes a primary key (or nothing) and calls a service.

Services import this module to dispatch; the services a task calls are imported inside its body,
so that the import goes one way (docs/decisions.md, "Dispatching tasks").
"""

import time
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


# Polling


@shared_task
def poll_due_submissions(time_budget: float | None = None, batch: int | None = None) -> int:
    """Polls due submissions batch after batch, until fewer than a batch were due or the time budget is spent.

    Run every few seconds by beat. Under a backlog each run keeps going for its budget while the
    next runs start beside it, so as many worker processes as are free poll in parallel (each
    claims its own batches); with little due a run is one query.
    """
    from invoicing import polling

    batch = batch or polling.BATCH
    deadline = time.monotonic() + (polling.TIME_BUDGET_SECONDS if time_budget is None else time_budget)
    total = 0
    while True:
        polled = polling.submissions_poll_due(batch=batch)
        total += polled
        if polled < batch or time.monotonic() >= deadline:
            return total


@shared_task
def poll_submission(submission_id: int) -> None:
    """Checks one submission's status now: after a POST that was already terminal (the events,
    the authority's error and peppolDelivered come with the status only), or a person's "check now"."""
    from invoicing import polling
    from invoicing.models import Submission

    submission = Submission.objects.filter(pk=submission_id).first()
    if submission is not None:
        polling.submission_poll(submission)
