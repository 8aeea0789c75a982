"""The notification e-mails' Celery task (invoicing/tasks.py holds the clearance tasks).

Dispatched by `invoicing.notifications.submission_outcome_notify` (and its plural); the service it calls is imported
inside its body, so that the import goes one way. Registered with the worker by InvoicingConfig.ready
(autodiscovery finds only `tasks` modules).
"""

from celery import shared_task

# smtplib's errors and socket errors: the mail server may answer later.
RETRIED = {"autoretry_for": (OSError,), "retry_backoff": 60, "retry_backoff_max": 60 * 60, "retry_jitter": True}


@shared_task(**RETRIED, max_retries=8)
def submission_outcome_send(submission_id: int, outcome: str) -> int:
    """E-mails a submission's outcome to whoever wants it and was not told yet; how many went out."""
    from invoicing import notifications

    return notifications.submission_outcome_send(submission_id=submission_id, outcome=outcome)


@shared_task(**RETRIED, max_retries=8)
def submission_outcomes_send(outcomes: list[tuple[int, str]]) -> int:
    """`submission_outcome_send` for each (submission id, outcome) of a poller's write; a retry
    sends only what was not sent (each e-mail is claimed once)."""
    from invoicing import notifications

    return sum(
        notifications.submission_outcome_send(submission_id=submission_id, outcome=outcome)
        for submission_id, outcome in outcomes
    )
