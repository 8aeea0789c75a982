import logging

from celery import shared_task

from accounts.models import ClearfactsCredential, User
from clearfacts_app import client
from clearfacts_app.sync import sync_user

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(client.Unavailable,), retry_backoff=30, retry_backoff_max=15 * 60, max_retries=6)
def sync_user_access(user_id: int) -> str:
    """Brings one user's office and administration grants up to date with Clearfacts."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return "no such user"
    try:
        sync_user(user=user)
    except client.NotAuthorized:
        return "needs sign-in"  # the credential is now marked invalid; nothing more to do until they sign in
    except (client.MissingScope, client.Refused) as error:
        logger.warning("sync of user %s refused: %s", user_id, error.code or error)
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
        sync_user_access.delay(user_id)
    return len(user_ids)
