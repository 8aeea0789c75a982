"""Celery tasks: each loads what it needs by primary key and calls a service.

Services import this module and dispatch with `delay_on_commit`; the services a task calls are
imported inside its body, so that the import goes one way (see docs/decisions.md, "Dispatching
tasks").
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from accounts.models import ClearfactsCredential, User
from clearfacts_app import client

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(client.Unavailable,), retry_backoff=30, retry_backoff_max=15 * 60, max_retries=6)
def sync_user_access(user_id: int) -> str:
    """Brings one user's office and administration grants up to date with Clearfacts."""
    from clearfacts_app.sync import sync_user

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return "no such user"
    try:
        sync_user(user=user)
    except client.NotAuthorized:
        return "needs sign-in"  # the credential is now marked invalid; nothing more to do until they sign in
    except (client.MissingScope, client.Refused, client.ClearfactsAnswerInvalid) as error:
        logger.warning("sync of user %s refused: %r", user_id, error.code or str(error))
        return "refused"
    return "synced"


@shared_task
def sync_all_user_access() -> int:
    """Withdraws access that Clearfacts withdrew, without waiting for the user's next sign-in."""
    user_ids = list(
        User.objects.filter(
            is_active=True, clearfacts_credential__status=ClearfactsCredential.Status.VALID
        ).values_list("pk", flat=True)
    )
    for user_id in user_ids:
        sync_user_access.delay_on_commit(user_id)
    return len(user_ids)


@shared_task(
    bind=True,
    soft_time_limit=settings.DOCUMENT_SEND_TIME_LIMIT,
    time_limit=settings.DOCUMENT_SEND_TIME_LIMIT + 60,
    autoretry_for=(client.Unavailable,),
    retry_backoff=5,
    retry_backoff_max=5 * 60,
    retry_jitter=True,
    max_retries=8,
)
def send_document(self, document_id: int) -> str:
    """Uploads one document to Clearfacts; transport errors and 5xx are retried with backoff."""
    from clearfacts_app import documents

    return documents.document_send(document_id=document_id, last_attempt=self.request.retries >= self.max_retries)


@shared_task
def sweep_documents(stale_after_seconds: int | None = None) -> int:
    """Sends again documents whose task was lost, and resumes those waiting for a sign-in."""
    from clearfacts_app import documents

    seconds = settings.DOCUMENT_SWEEP_AFTER_SECONDS if stale_after_seconds is None else stale_after_seconds
    return len(documents.documents_sweep(stale_after=timedelta(seconds=seconds)))


@shared_task
def remove_sent_files() -> int:
    """Deletes the portal's copy of files sent more than DOCUMENT_RETENTION_DAYS ago (0 keeps them)."""
    from clearfacts_app import documents

    if not settings.DOCUMENT_RETENTION_DAYS:
        return 0
    return documents.documents_remove_sent_files(retention=timedelta(days=settings.DOCUMENT_RETENTION_DAYS))


# smtplib's errors are OSErrors, as are socket errors: the mail server may answer later.
@shared_task(
    bind=True, autoretry_for=(OSError,), retry_backoff=60, retry_backoff_max=60 * 60, retry_jitter=True, max_retries=6
)
def send_notification_emails(self, notification_ids: list[int]) -> int:
    """E-mails the notifications (of one cause) still waiting for it; each at most once."""
    from clearfacts_app import notifications

    return notifications.notification_emails_send(
        notification_ids=notification_ids, last_attempt=self.request.retries >= self.max_retries
    )
