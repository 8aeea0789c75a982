import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from portal.health import services_fingerprint

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "portal:worker-heartbeat"
WORKER_SERVICES_KEY = "portal:worker-services"


@shared_task(ignore_result=True)
def heartbeat(marker: str = "") -> str:
    """Record that a worker ran a task; scheduled by beat and shown on /healthz."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    cache.set(WORKER_SERVICES_KEY, services_fingerprint(), timeout=None)
    if marker:
        cache.set(f"{HEARTBEAT_KEY}:{marker}", now, timeout=600)
    return now
