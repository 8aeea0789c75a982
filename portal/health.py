"""Whether the services the portal cannot work without are answering."""

import hashlib
import logging
import os

from django.conf import settings
from django.db import connection
from kombu import Connection

logger = logging.getLogger(__name__)


def ensure_local_folders() -> None:
    """var/ (SQLite, cache, beat schedule), media and the filesystem broker's folders."""
    for folder in [settings.VAR_DIR, settings.MEDIA_ROOT, *settings.CELERY_BROKER_FOLDERS]:
        os.makedirs(folder, exist_ok=True)


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health: database check failed")
        return False


def broker_answers() -> bool:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)
            _ = conn.default_channel  # opening a channel makes Redis answer a PING
        return all(os.access(folder, os.W_OK) for folder in settings.CELERY_BROKER_FOLDERS)
    except Exception:
        logger.warning("health: broker check failed", exc_info=True)
        return False


def services_fingerprint() -> str:
    """Which Clearfacts and Clearvo this process talks to, comparable between web and worker processes."""
    addresses = [settings.CLEARFACTS_OIDC_ISSUER, settings.CLEARFACTS_GRAPHQL_URL, settings.CLEARVO_API_URL]
    return hashlib.sha256("\n".join(addresses).encode()).hexdigest()[:16]
