"""Celery tasks of invoicing: each loads what it needs by primary key and calls a service.

Services dispatch with `delay_on_commit`; the modules a task calls are imported inside its body,
so that the import goes one way (docs/decisions.md, "Dispatching tasks, and the direction of imports").
"""

import time

from celery import shared_task

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
