"""The notification e-mails' Celery task (invoicing/tasks.py holds the clearance tasks).

Dispatched by `invoicing.notifications.submission_outcome_notify`; the service it calls is imported
inside its body, so that the import goes one way. Registered with the worker by InvoicingConfig.ready
(autodiscovery finds only `tasks` modules).
"""

from celery import shared_task


@shared_task(
    autoretry_for=(OSError,),  # smtplib's errors and socket errors: the mail server may answer later
    retry_backoff=60,
    retry_backoff_max=60 * 60,
    retry_jitter=True,
    max_retries=8,
)
def submission_outcome_send(submission_id: int, outcome: str) -> int:
    """E-mails a submission's outcome to whoever wants it and was not told yet; how many went out."""
    from invoicing import notifications

    return notifications.submission_outcome_send(submission_id=submission_id, outcome=outcome)
