import time
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache

from portal.celery import app
from portal.tasks import HEARTBEAT_KEY, heartbeat

pytestmark = pytest.mark.slow


def wait_for(predicate, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def test_tasks_are_not_run_eagerly():
    assert not app.conf.task_always_eager
    assert app.conf.broker_url == settings.CELERY_BROKER_URL


def test_a_task_sent_here_is_run_by_a_worker_process(celery_worker_process):
    marker = uuid.uuid4().hex

    heartbeat.delay(marker)

    # Only a worker process can have written this: tasks never run eagerly (see above).
    ran_at = wait_for(lambda: cache.get(f"{HEARTBEAT_KEY}:{marker}"))
    assert ran_at, f"no worker ran the task:\n{celery_worker_process.output()[-3000:]}"


def test_the_app_is_configured_for_reliable_delivery():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_time_limit > conf.task_soft_time_limit > 0
    assert "worker-heartbeat" in conf.beat_schedule
