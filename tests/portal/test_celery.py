import uuid

import pytest
from django.conf import settings
from django.core.cache import cache

from portal.celery import app
from portal.tasks import HEARTBEAT_KEY, heartbeat
from tests.conftest import wait_until

pytestmark = pytest.mark.slow


def test_tasks_are_not_run_eagerly():
    assert not app.conf.task_always_eager
    assert app.conf.broker_url == settings.CELERY_BROKER_URL


def test_a_task_sent_here_is_run_by_a_worker_process(celery_worker_process):
    marker = uuid.uuid4().hex

    heartbeat.delay(marker)

    # Only a worker process can have written this: tasks never run eagerly (see above).
    wait_until(
        lambda: cache.get(f"{HEARTBEAT_KEY}:{marker}"),
        message="a worker to run the task",
        process=celery_worker_process,
    )


def test_the_app_is_configured_for_reliable_delivery():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_time_limit > conf.task_soft_time_limit > 0
    assert "worker-heartbeat" in conf.beat_schedule
