"""Poller benchmark: due submissions polled by two Celery worker processes, beside a plain requests loop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/poller.py [--count 5000]

What it needs: for figures that mean anything, PostgreSQL and Redis. With DATABASE_URL set, the
bench creates its own database beside the one named (`bench_poller_<pid>`, dropped at the end:
the role must be allowed to create databases) and leaves the named one alone; with
CELERY_BROKER_URL set, its tasks go through that broker on a queue of their own. Without them it
runs embedded (SQLite and the filesystem broker, in a scratch folder), which works but measures
SQLite's single writer more than the poller.

It starts the sandbox under gunicorn (four worker processes, two threads each) and one Celery
worker with two processes (prefork, concurrency 2), and seeds with bulk inserts: real sandbox
invoices (rows of its Clearvo with their PENDING event; half of them due for the authority's
decision, spread over five minutes, so that half of the polls bring ACCEPTED and half "still
pending", as in real life) and the portal's invoices and submissions. Then:
  1. the scheduler's query count: one `submissions_poll_due` batch (the same 100 due, with the
     same answers) with 10,000 and with 100,000 submissions stored, BEGIN and COMMIT included,
     the reads written by count (FLUSH_EVERY) so that the figure does
     not follow the sandbox's speed;
  2. a plain `requests` loop (two threads, one session each: the poller's concurrency) reads the
     status of `count` invoices: the baseline rate;
  3. the poller: `count` other due submissions of the same shape, two `poll_due_submissions`
     tasks (what beat starts), timed from dispatch until every one has been polled and written;
  4. the baseline again on a third set, so that drift on a shared machine counts on both sides
     (the baseline is the mean of the two).
Steps 2 to 4 run with the 100,000 submissions stored. Each round also prints the CPU time per
status read of the sandbox's processes, of the loop and of the poller's worker processes.
With `--rounds N` steps 2 to 4 are repeated on fresh sets and the median round is reported: on a
shared machine whose load swings, one round can land on a busy stretch for one side only.
The last line is JSON with `throughput_ratio` (poller rate / baseline rate; the median round's)
and `scheduler_queries` (one number per size).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import ScratchDatabase, free_port  # noqa: E402

BIN = Path(sys.executable).parent
CONCURRENCY = 2
BATCH = 100
SIZES = (10_000, 100_000)
QUEUE = f"bench-poller-{os.getpid()}"
SANDBOX_WORKERS = 4


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (gunicorn's workers, Celery's pool processes)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = task / "children"
            if children.exists():
                pending += [int(child) for child in children.read_text().split()]
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time used so far by these processes (their threads included)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


class Stack:
    def __init__(self, folder: Path, database: ScratchDatabase):
        self.folder = folder
        self.port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{self.port}"
        self.clearvo_url = f"{self.sandbox_url}/sandbox/clearvo/v1"
        broker = os.environ.get("CELERY_BROKER_URL", "")
        base = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE"}
        }
        self.env = base | {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "VAR_DIR": str(folder / "var"),
            "DATABASE_URL": database.url,
            "DEBUG": "1",
            "SANDBOX": "1",
            "SANDBOX_TIME_FACTOR": "1",
            "SANDBOX_FAULT_RATE": "0",
            "SANDBOX_LATENCY_MS": "0",
            "LOG_LEVEL": "WARNING",
            "SITE_URL": self.sandbox_url,
            "CLEARVO_API_URL": self.clearvo_url,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        if broker:
            self.env["CELERY_BROKER_URL"] = broker
        self.processes = []

    def manage(self, *args) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, name: str, args: list[str], **env) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env | env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append((process, log))
        return process

    def up(self) -> None:
        self.manage("migrate", "--noinput", "-v0")
        self.manage("sandbox_seed")
        self.sandbox = self.start(
            "sandbox",
            [
                str(BIN / "gunicorn"),
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(SANDBOX_WORKERS),
                "--threads",
                "2",
                "--timeout",
                "120",
            ],
        )
        self.worker = self.start(
            "worker",
            [
                str(BIN / "celery"),
                "-A",
                "portal",
                "worker",
                f"--concurrency={CONCURRENCY}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                QUEUE,
                "-n",
                f"{QUEUE}@%h",
            ],
            LOG_LEVEL="INFO",  # its "ready." line
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.sandbox_url}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or its first answer is slow
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start; see {self.folder}")
            time.sleep(0.3)
        deadline = time.monotonic() + 60
        while b"ready." not in (self.folder / "worker.log").read_bytes():
            if self.worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start; see {self.folder / 'worker.log'}")
            time.sleep(0.3)

    def down(self) -> None:
        for process, log in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            log.close()


def django_setup(stack: Stack) -> None:
    os.environ.update(stack.env)
    import django

    django.setup()


class Seeder:
    """Bulk inserts: the sandbox's invoices and events, and the portal's invoices, submissions and events."""

    def __init__(self):
        from django.conf import settings
        from django.utils import timezone

        from accounts.models import Membership, Office, User
        from clearfacts_app.models import Administration
        from sandbox.clearvo.keys import key_hash
        from sandbox.clearvo.models import ApiKey

        self.now = timezone.now()
        self.office = Office.objects.create(name="Bench office", company_number="0999999901")
        self.administration = Administration.objects.create(
            office=self.office, name="Bench BV", company_number="0999999902"
        )
        self.user = User.objects.create_user(username="bench", email="bench@example.be")
        Membership.objects.create(user=self.user, office=self.office, role=Membership.Role.MEMBER)
        self.api_key = ApiKey.objects.get(key_hash=key_hash(settings.SANDBOX_CLEARVO_TEST_KEY))
        self.payload = json.loads(self._template_payload())
        self.body = json.dumps(self.payload).encode()

    def _template_payload(self) -> bytes:
        from invoicing.models import Invoice, InvoiceLine
        from invoicing.payload import payload_bytes
        from tests.invoicing.rules_examples import invoice_fields, lines_for

        invoice = Invoice(administration=self.administration, author=self.user, **invoice_fields("IT"))
        invoice.save()
        for position, fields in enumerate(lines_for("IT")):
            InvoiceLine.objects.create(invoice=invoice, position=position, **fields)
        body = payload_bytes(invoice)
        invoice.lines.all().delete()
        invoice.delete()
        return body

    def sandbox_invoices(self, prefix: str, count: int) -> list[tuple[str, object]]:
        """`count` IT invoices in the sandbox: even ones decided on their next read, odd ones still pending."""
        from sandbox.clearvo.lifecycle import whole_seconds
        from sandbox.clearvo.models import InvoiceEvent, InvoiceSubmission, Scenario

        rows = []
        for n in range(count):
            # Even: submitted ten minutes ago, SDI's decision (after four) is made on the next read.
            # Odd: a slow decision (28 minutes) that no read during the bench reaches.
            decided = n % 2 == 0
            number = f"{prefix}-{n:06d}" + ("" if decided else "-SLOW")
            # Spread over five minutes, as real submissions are: each decision has its own time.
            age = (timedelta(minutes=10) if decided else timedelta(minutes=1)) + timedelta(seconds=n % 300)
            submitted = whole_seconds(self.now - age)
            rows.append(
                InvoiceSubmission(
                    reference_id=f"IT-20260115-{prefix}{n:06d}",
                    api_key=self.api_key,
                    idempotency_key=str(uuid.uuid4()),
                    entity_id=self.administration.company_number,
                    country="IT",
                    document_type="invoice",
                    invoice_number=number,
                    supplier_key="BE:0403170701",
                    payload=self.payload | {"invoiceNumber": number},
                    scenario=Scenario.NONE if decided else Scenario.SLOW,
                    submitted_at=submitted,
                    next_poll_after=whole_seconds(self.now - timedelta(seconds=1)),
                )
            )
        rows = InvoiceSubmission.objects.bulk_create(rows, batch_size=2000)
        InvoiceEvent.objects.bulk_create(
            [
                InvoiceEvent(
                    invoice=row, status="PENDING", at=row.submitted_at, message="Submitted to SDI as FatturaPA 1.2"
                )
                for row in rows
            ],
            batch_size=2000,
        )
        return [(row.reference_id, row.submitted_at) for row in rows]

    def submissions(self, prefix: str, references: list[tuple[str, object]]) -> list[int]:
        """The portal's side of sandbox invoices: SENT, PENDING with their event, not due yet."""
        from invoicing.models import ClearanceEvent, Invoice, Submission

        later = self.now + timedelta(days=1)
        invoices = Invoice.objects.bulk_create(
            [self._invoice(f"{prefix}-{n:06d}", Invoice.Status.PENDING) for n in range(len(references))],
            batch_size=2000,
        )
        submissions = Submission.objects.bulk_create(
            [
                self._submission(invoice, reference_id=reference_id, status="PENDING", next_poll_at=later)
                for invoice, (reference_id, _) in zip(invoices, references, strict=True)
            ],
            batch_size=2000,
        )
        ClearanceEvent.objects.bulk_create(
            [
                ClearanceEvent(
                    submission=submission, status="PENDING", at=submitted, message="Submitted to SDI as FatturaPA 1.2"
                )
                for submission, (_, submitted) in zip(submissions, references, strict=True)
            ],
            batch_size=2000,
        )
        return [submission.pk for submission in submissions]

    def stored(self, prefix: str, count: int) -> None:
        """Submissions that are not due (finished ones), as years of use leave them."""
        from invoicing.models import Invoice, Submission

        for start in range(0, count, 10_000):
            size = min(10_000, count - start)
            invoices = Invoice.objects.bulk_create(
                [self._invoice(f"{prefix}-{start + n:07d}", Invoice.Status.ACCEPTED) for n in range(size)],
                batch_size=2000,
            )
            Submission.objects.bulk_create(
                [
                    self._submission(invoice, reference_id=f"IT-20250101-{prefix}{start + n:07d}", status="ACCEPTED")
                    for n, invoice in enumerate(invoices)
                ],
                batch_size=2000,
            )

    def _invoice(self, number: str, status: str):
        from invoicing.models import Invoice

        return Invoice(
            administration=self.administration,
            author=self.user,
            invoice_number=number,
            issue_date=date(2026, 1, 15),
            country="IT",
            buyer_name="Cliente SpA",
            buyer_city="Roma",
            buyer_country="IT",
            status=status,
        )

    def _submission(self, invoice, *, reference_id: str, status: str, next_poll_at=None):
        from invoicing.clearvo import body_sha256
        from invoicing.models import Submission

        return Submission(
            invoice=invoice,
            submitted_by=self.user,
            invoice_version=1,
            body=self.body,
            body_sha256=body_sha256(self.body),
            idempotency_key=uuid.uuid4(),
            api_mode="test",
            state=Submission.State.SENT,
            attempts=1,
            first_attempt_at=self.now,
            reference_id=reference_id,
            clearance_status=status,
            terminal=status != "PENDING",
            submitted_at=self.now,
            next_poll_at=next_poll_at,
        )


def baseline(stack: Stack, references: list[str]) -> float:
    """Status reads per second of a plain requests loop with the poller's concurrency."""
    from django.conf import settings

    headers = {"x-api-key": settings.SANDBOX_CLEARVO_TEST_KEY}
    failures = []

    def loop(share: list[str]) -> None:
        session = requests.Session()
        for reference_id in share:
            response = session.get(
                f"{stack.clearvo_url}/invoices/status",
                params={"country": "IT", "id": reference_id},
                headers=headers,
                timeout=30,
            )
            if response.status_code != 200 or "clearanceStatus" not in response.json():
                failures.append(response.status_code)

    shares = [references[n::CONCURRENCY] for n in range(CONCURRENCY)]
    threads = [threading.Thread(target=loop, args=(share,)) for share in shares]
    started, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if failures:
        raise RuntimeError(f"the baseline got {len(failures)} failed reads: {failures[:5]}")
    return len(references) / elapsed, cpu


def run_poller(submission_ids: list[int], timeout: float = 280) -> float:
    """Seconds from making `submission_ids` due and dispatching the periodic task twice until all are polled."""
    from django.utils import timezone

    from invoicing.models import Submission
    from invoicing.tasks import poll_due_submissions

    Submission.objects.filter(pk__in=submission_ids).update(next_poll_at=timezone.now())
    started = time.perf_counter()
    for _ in range(CONCURRENCY):
        # Within the workers' soft time limit (CELERY_TASK_SOFT_TIME_LIMIT, 5 minutes).
        poll_due_submissions.apply_async(kwargs={"time_budget": timeout - 30, "batch": BATCH}, queue=QUEUE)
    first, last = min(submission_ids), max(submission_ids)
    waiting = Submission.objects.filter(pk__gte=first, pk__lte=last, polls=0)
    while waiting.exists():
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{waiting.count()} submissions were never polled")
        time.sleep(0.05)
    return time.perf_counter() - started


def scheduler_queries(due_ids: list[int]) -> tuple[int, int, float]:
    """Queries of one submissions_poll_due batch with `due_ids` due (in this process), those of its
    claim alone, and the claim's seconds. BEGIN and COMMIT count as queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from invoicing import polling
    from invoicing.models import Submission
    from sandbox.clearvo.models import InvoiceSubmission

    # The sandbox gives them all one nextPollAfter, an hour on: the same answers at both sizes.
    references = Submission.objects.filter(pk__in=due_ids).values_list("reference_id", flat=True)
    InvoiceSubmission.objects.filter(reference_id__in=list(references)).update(
        next_poll_after=(timezone.now() + timedelta(hours=1)).replace(microsecond=0), early_polls=0
    )
    Submission.objects.filter(pk__in=due_ids).update(next_poll_at=timezone.now())
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as claim_queries:
        claimed, _ = polling.submissions_claim_due(batch=BATCH)
    claim_seconds = time.perf_counter() - started
    assert sorted(claimed) == sorted(due_ids), "the claim took other submissions than the due ones"
    Submission.objects.filter(pk__in=due_ids).update(next_poll_at=timezone.now())
    # Written by count only (not also every FLUSH_SECONDS), so that the count does not follow the
    # sandbox's speed. The writes happen in this thread, where queries are counted.
    saved = polling.FLUSH_SECONDS
    polling.FLUSH_SECONDS = float("inf")
    try:
        with CaptureQueriesContext(connection) as queries:
            polled = polling.submissions_poll_due(batch=BATCH)
    finally:
        polling.FLUSH_SECONDS = saved
    assert polled == len(due_ids), polled
    return len(queries), len(claim_queries), claim_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5000, help="due submissions to poll (default 5000)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat baseline, poller, baseline on fresh sets; the JSON gives the median round (a shared machine's load swings)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs)")
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="portal-bench-poller-"))
    (folder / "var").mkdir()
    database = ScratchDatabase("bench_poller", sqlite=folder / "var" / "db.sqlite3")
    database.create()
    stack = Stack(folder, database)
    try:
        print(f"Scratch folder: {folder}")
        print(
            f"Database: {'PostgreSQL' if database.postgres else 'SQLite'}; broker: {stack.env.get('CELERY_BROKER_URL', 'filesystem')}"
        )
        stack.up()
        django_setup(stack)
        from django.db import connection
        from django.db.models import Avg

        from invoicing.models import Exchange, Submission
        from sandbox.models import RequestLog

        seeder = Seeder()
        count, rounds = options.count, options.rounds
        warm = seeder.sandbox_invoices("W", 200)
        warm_ids = seeder.submissions("W", warm)
        if database.postgres:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        # Warm up both paths (imports, connections, the workers' first tasks).
        baseline(stack, [reference for reference, _ in warm][:100])
        run_poller(warm_ids)
        connection.close()

        # The scheduler with 10,000 and 100,000 submissions stored, the same 100 due each time.
        pending = list(
            Submission.objects.filter(pk__in=warm_ids, clearance_status="PENDING").values_list("pk", flat=True)[:BATCH]
        )
        Submission.objects.filter(pk__in=warm_ids).exclude(pk__in=pending).update(
            next_poll_at=seeder.now + timedelta(days=1)
        )
        queries = {}
        for size in SIZES:
            missing = size - Submission.objects.count()
            started = time.perf_counter()
            seeder.stored(f"S{size}", missing)
            if database.postgres:
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE invoicing_submission")
            seeded = time.perf_counter() - started
            queries[size], claim_queries, claim_seconds = scheduler_queries(pending)
            print(
                f"Scheduler with {Submission.objects.count():,} submissions stored, {len(pending)} due: "
                f"{queries[size]} queries for the batch (claim {claim_queries} of them, {claim_seconds * 1000:.1f} ms; "
                f"{missing:,} stored in {seeded:.1f} s)"
            )
        Submission.objects.filter(pk__in=pending).update(next_poll_at=seeder.now + timedelta(days=1))

        # The rounds: with 100,000 submissions stored, as a portal in use has them.
        workers, sandbox = process_tree(stack.worker.pid), process_tree(stack.sandbox.pid)
        ratios, results = [], []
        for number in range(1, rounds + 1):
            polled_ids = seeder.submissions(f"A{number}", seeder.sandbox_invoices(f"A{number}", count))
            before = [reference for reference, _ in seeder.sandbox_invoices(f"B{number}", count)]
            after = [reference for reference, _ in seeder.sandbox_invoices(f"C{number}", count)]
            if database.postgres:
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            connection.close()

            cpu = {"sandbox": cpu_seconds(sandbox)}
            rate_before, client_before = baseline(stack, before)
            cpu["sandbox"], cpu["sandbox baseline"] = cpu_seconds(sandbox), cpu_seconds(sandbox) - cpu["sandbox"]
            cpu["workers"] = cpu_seconds(workers)
            poll_seconds = run_poller(polled_ids)
            cpu["workers"] = cpu_seconds(workers) - cpu["workers"]
            cpu["sandbox poller"] = cpu_seconds(sandbox) - cpu["sandbox"]
            cpu["sandbox"] = cpu_seconds(sandbox)
            rate_after, client_after = baseline(stack, after)
            cpu["sandbox baseline"] += cpu_seconds(sandbox) - cpu["sandbox"]
            # Still pending ones are due again in five minutes: not during the next round.
            Submission.objects.filter(pk__in=polled_ids, terminal=False).update(
                next_poll_at=seeder.now + timedelta(days=1)
            )

            baseline_rate = (rate_before + rate_after) / 2
            poller_rate = count / poll_seconds
            ratios.append(poller_rate / baseline_rate)
            results.append((baseline_rate, poller_rate, poll_seconds))
            reads = Exchange.objects.filter(submission_id__in=polled_ids, method="GET")
            accepted = Submission.objects.filter(pk__in=polled_ids, clearance_status="ACCEPTED").count()
            load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
            print(f"Round {number} (load average {load} over 1, 5, 15 min; {os.cpu_count()} CPUs):")
            print(f"  plain requests loop ({CONCURRENCY} threads), before: {rate_before:8.1f} reads/s")
            print(f"  plain requests loop ({CONCURRENCY} threads), after:  {rate_after:8.1f} reads/s")
            print(
                f"  poller ({CONCURRENCY} worker processes): {count} due polled in {poll_seconds:.2f} s = "
                f"{poller_rate:8.1f} polls/s ({accepted} became ACCEPTED, {count - accepted} still PENDING)"
            )
            print(f"  ratio to the baseline (mean of before and after): {ratios[-1]:.3f}")
            sandbox_ms = {
                name: RequestLog.objects.filter(path__contains=f"IT-20260115-{prefix}{number}").aggregate(
                    ms=Avg("duration_ms")
                )["ms"]
                for name, prefix in (("baseline", "B"), ("poller", "A"), ("baseline after", "C"))
            }
            print(
                f"  reads recorded: {reads.count()} for {count} submissions; the sandbox's own time per status call: "
                + ", ".join(f"{name} {ms:.1f} ms" for name, ms in sandbox_ms.items())
                + f"; the poller's HTTP round trip {reads.aggregate(ms=Avg('duration_ms'))['ms']:.1f} ms"
            )
            print(
                "  CPU per status read: "
                f"sandbox (gunicorn) {cpu['sandbox baseline'] * 1000 / (2 * count):.2f} ms for the loop, "
                f"{cpu['sandbox poller'] * 1000 / count:.2f} ms for the poller; "
                f"the loop itself {(client_before + client_after) * 1000 / (2 * count):.2f} ms, "
                f"the poller's workers {cpu['workers'] * 1000 / count:.2f} ms (PostgreSQL not counted)"
            )
        median = sorted(range(rounds), key=lambda n: ratios[n])[rounds // 2]
        baseline_rate, poller_rate, poll_seconds = results[median]
        print(f"429 answers from the sandbox: {RequestLog.objects.filter(status=429).count()}")
        if rounds > 1:
            print(f"Median round: {median + 1} (ratios {', '.join(f'{ratio:.3f}' for ratio in ratios)})")
        print(
            json.dumps(
                {
                    "count": count,
                    "database": "postgresql" if database.postgres else "sqlite",
                    "baseline_reads_per_s": round(baseline_rate, 1),
                    "poller_polls_per_s": round(poller_rate, 1),
                    "poll_seconds": round(poll_seconds, 2),
                    "throughput_ratio": round(poller_rate / baseline_rate, 3),
                    "ratios": [round(ratio, 3) for ratio in ratios],
                    "scheduler_queries": {str(size): queries[size] for size in SIZES},
                }
            )
        )
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 (Django may not be set up yet)
            pass
        stack.down()
        database.drop()
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
