"""Exactly once, at scale: 500 invoices through a faulty, slow Clearvo and a worker killed mid-run.

A real Celery worker process (four threads) sends what the test submits, while the sandbox answers
30 % of Clearvo calls with faults, half of them after committing the invoice, with latency on every
call. Midway the worker is killed with SIGKILL (sends in flight, scheduled retries lost with it) and
started again; the test plays the beat's part and runs the sweeper. Afterwards the sandbox holds
exactly one invoice per invoice number, each created under the one key of its submission, and every
invoice in the portal is sent with the sandbox's referenceId, or held with its reason.

Why 500 (the test had 1,000, three to four minutes of a two-core CI run): every invoice is a trial
of its own through the faults, and 500 make about 700 Clearvo calls, some 200 of them faulty, about
100 on each side of the commit (twice the 50 asserted below) and every fault kind among them. They
are submitted in a few seconds, far faster than the four threads send, so the kill finds a long
queue, sends in flight and retries waiting, and the restarted worker and the sweeper compete for
what the dead one left. What the larger number added was more of the same trials, not another
situation.
"""

import os
import signal
import sys
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count
from django.test import override_settings

from clearfacts_app.models import Activity
from invoicing.models import Invoice, Submission
from invoicing.submissions import invoice_submit, submissions_sweep
from sandbox.clearvo.models import InvoiceSubmission
from sandbox.clearvo.seed import seed as seed_clearvo
from sandbox.models import RequestLog
from tests.conftest import VENV_BIN, wait_for_worker, wait_until
from tests.invoicing.editor_helpers import complete_profile
from tests.invoicing.submit_helpers import ready_draft

pytestmark = pytest.mark.slow

INVOICES = 500
State = Submission.State
UNSETTLED = (State.QUEUED, State.SENDING, State.RETRYING)
ALL_FAULT_KINDS = "error,html,empty,retry_later,drop,hold,truncated,invalid_json"


def worker(start_process, env, generation: int):
    args = [
        str(VENV_BIN / "celery"),
        "-A",
        "portal",
        "worker",
        "--loglevel=INFO",
        "--pool=threads",
        "--concurrency=4",
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"resilience{generation}-{os.getpid()}@%h",
    ]
    process = start_process(args, env, name=f"worker-{generation}")
    wait_for_worker(process)
    return process


def kill(process) -> None:
    """SIGKILL: no clean-up, no acknowledgement, nothing written on the way out."""
    os.killpg(process.popen.pid, signal.SIGKILL)
    process.popen.wait()


def unsettled() -> int:
    return Submission.objects.filter(state__in=UNSETTLED).count()


@pytest.fixture
def prompt_live_server():
    """The sandbox answers from this process's live-server threads while this thread submits: with
    Python's default 5 ms switch interval, each of their database round trips waits for the GIL."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.timeout(600)
def test_five_hundred_invoices_through_faults_and_a_killed_worker_are_each_cleared_exactly_once(
    portal, administration, member, process_env, start_process, prompt_live_server
):
    started = time.monotonic()
    seed_clearvo()
    complete_profile(administration)
    with transaction.atomic():
        invoices = [ready_draft(administration, member) for _ in range(INVOICES)]
    env = process_env | {
        "CLEARVO_API_URL": f"{portal.url}/sandbox/clearvo/v1",
        # A held answer (1.5 s) outlasts the worker's read timeout; a send's lease ends 13 s after it starts.
        "EXTERNAL_CONNECT_TIMEOUT": "2",
        "EXTERNAL_READ_TIMEOUT": "1",
        "SUBMISSION_RETRY_BACKOFF_SECONDS": "0.2",
        "SUBMISSION_RETRY_BACKOFF_MAX_SECONDS": "2",
    }
    faulty_slow_clearvo = override_settings(
        SANDBOX_FAULT_RATE=0.3,
        SANDBOX_AFTER_COMMIT_SHARE=0.5,
        SANDBOX_FAULT_KINDS=ALL_FAULT_KINDS,
        SANDBOX_FAULT_SERVICE="clearvo",
        SANDBOX_HOLD_SECONDS=1.5,
        SANDBOX_LATENCY_MS=20,
    )
    with faulty_slow_clearvo:
        first = worker(start_process, env, 1)
        killed_after, in_flight = None, set()
        for count, invoice in enumerate(invoices, start=1):
            invoice_submit(invoice=invoice, user=member, expected_version=invoice.version)
            sending = Submission.objects.filter(state=State.SENDING)
            if killed_after is None and count >= INVOICES // 3 and sending.count() >= 2:
                kill(first)
                killed_after = count
                # What the dead worker was sending stays SENDING: nothing of it moves any more.
                in_flight = set(sending.values_list("pk", flat=True))
                sent_before = Submission.objects.filter(state=State.SENT).count()
                worker(start_process, env, 2)
        assert killed_after is not None and in_flight, "the worker was killed with sends in flight"
        assert 0 < sent_before < INVOICES

        # The beat's part: the sweeper, every few seconds, until nothing waits to be sent.
        def settled():
            submissions_sweep(stale_after=timedelta(seconds=30))
            return unsettled() == 0

        wait_until(settled, timeout=420, interval=3, message="every submission to be sent or held")
    elapsed = time.monotonic() - started

    submissions = list(Submission.objects.select_related("invoice"))
    clearvo = InvoiceSubmission.objects.all()
    # One invoice per number at Clearvo, each created under the one key of its submission.
    assert clearvo.count() == INVOICES
    assert clearvo.values("invoice_number").distinct().count() == INVOICES
    assert not clearvo.values("invoice_number").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert {row.idempotency_key for row in clearvo} == {str(s.idempotency_key) for s in submissions}
    assert len(submissions) == INVOICES == len({s.invoice_id for s in submissions})
    # Every invoice sent with Clearvo's referenceId, or held with the reason shown.
    by_number = {row.invoice_number: row.reference_id for row in clearvo}
    held = [s for s in submissions if s.state == State.HELD]
    for submission in submissions:
        if submission.state == State.SENT:
            assert submission.reference_id == by_number[submission.invoice.invoice_number]
            assert submission.invoice.status == Invoice.Status.PENDING
        else:
            assert submission.state == State.HELD and submission.reason_text, submission
            assert submission.invoice.status == Invoice.Status.SUBMITTING
    assert len(held) < INVOICES // 100, "faults at 30 % hold next to nothing"
    # The sends the kill interrupted were taken up again by the sweeper, with their own key.
    interrupted = Activity.objects.filter(action="invoice.submission_retrying", data__reason="interrupted")
    assert {row.data["submission"] for row in interrupted} >= in_flight
    # The faults did happen, on both sides of the work.
    calls = RequestLog.objects.filter(service="clearvo")
    faults = calls.filter(fault_injected=True)
    assert faults.filter(fault_when="before").count() > 50 and faults.filter(fault_when="after").count() > 50
    assert faults.filter(fault_kind="hold").exists() and faults.filter(fault_kind="drop").exists()
    print(
        f"\n{INVOICES} invoices in {elapsed:.0f} s: {calls.count()} Clearvo calls, {faults.count()} faults, "
        f"the worker killed after {killed_after} submits with {len(in_flight)} sends in flight, {len(held)} held"
    )
