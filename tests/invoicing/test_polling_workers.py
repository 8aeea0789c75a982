"""Pollers side by side: two at once never poll one submission twice; beat and a real worker run the task.

The two pollers are threads, each with its own database connection. On PostgreSQL the claim
skips rows another poller has locked; on SQLite claimers queue for the write lock. Either way the claimed rows carry the claimer's lease, so the other poller does not
see them due. The sandbox answers slowly (latency) so that the two pollers really overlap.
"""

import threading
from collections import Counter

import pytest
from django.db import connection

from invoicing.models import Exchange, Submission
from invoicing.polling import submissions_poll_due
from invoicing.tasks import poll_due_submissions
from portal.celery import app
from sandbox.clearvo.seed import seed as seed_clearvo
from sandbox.models import RequestLog
from tests.conftest import wait_for_worker, wait_until, worker_args
from tests.invoicing.polling_helpers import make_due, sent

pytestmark = pytest.mark.slow


def poller(results: list, errors: list, start: threading.Barrier) -> None:
    try:
        start.wait()
        while polled := submissions_poll_due(batch=4):
            results.append(polled)
    except Exception as error:  # reported by the test
        errors.append(error)
    finally:
        connection.close()


def test_two_pollers_never_poll_one_submission_twice(portal, settings, administration, member):
    seed_clearvo()
    settings.SANDBOX_TIME_FACTOR = 1  # nextPollAfter minutes away: each is due once in this test
    settings.SANDBOX_FAULT_RATE = 0.0
    submissions = [sent(administration, member, "IT") for _ in range(24)]
    make_due(*submissions)
    settings.SANDBOX_LATENCY_MS = 30

    results, errors = [[], []], []
    start = threading.Barrier(2)
    threads = [threading.Thread(target=poller, args=(results[n], errors, start)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(results[0]) + sum(results[1]) == 24
    assert results[0] and results[1], "both pollers took a share"
    reads = Counter(Exchange.objects.filter(method="GET").values_list("submission_id", flat=True))
    assert reads == Counter({submission.pk: 1 for submission in submissions})
    assert RequestLog.objects.filter(operation="GET /invoices/status").count() == 24
    assert set(Submission.objects.values_list("polls", flat=True)) == {1}


def test_beat_runs_the_poller_every_few_seconds():
    entry = app.conf.beat_schedule["poll-submissions"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert entry["schedule"] <= 5
    assert entry["options"]["expires"] <= entry["schedule"]  # ticks do not pile up behind a busy worker


def test_a_worker_process_polls_what_is_due(portal, settings, administration, member, process_env, start_process):
    seed_clearvo()
    settings.SANDBOX_FAULT_RATE = 0.0
    submission = sent(administration, member, "PL")
    make_due(submission)
    worker = start_process(
        worker_args("poller"), process_env | {"CLEARVO_API_URL": settings.CLEARVO_API_URL}, name="worker"
    )
    wait_for_worker(worker)

    poll_due_submissions.delay()

    wait_until(lambda: submission.events.exists(), message="the worker's poll", process=worker)
    assert submission.exchanges.filter(method="GET", status_code=200).count() == 1
