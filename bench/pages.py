"""Pages at scale: the portal's pages with years of data, timed against a bare Django view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    CACHE_URL=redis://127.0.0.1:6379/5 CELERY_BROKER_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python bench/pages.py [--invoices 100000] [--requests 60] [--keep]

What it needs: PostgreSQL (the role must be allowed to create databases: the bench creates its own,
`bench_pages_<pid>`, beside the one named, and drops it at the end unless `--keep`) and Redis (the
cache and the broker, as in production; the cache's database is emptied, so give it one of its own).
It runs the site in production's shape: DEBUG off, static files collected (WhiteNoise), gunicorn with
gunicorn.conf.py's threaded workers (`--workers`, 2 by default), two Celery worker processes and beat
(`--celery-workers`), all booted before anything is timed, with the settings of bench/settings.py:
the portal's plus bench/urls.py's bare view (`/bench/bare/`, a short string through the same
middleware), the baseline of every ratio.

It seeds with bulk inserts an office with 50 administrations and one associate who sees them all,
then in two steps (1,000 invoices, then `--invoices` in all): invoices with 5 lines each, one
submission each with 10 clearance events (one invoice with 50), a document per two invoices, a
comment and an activity row per invoice, notifications for the associate, and open problems for
the cockpit (rejected invoices, held submissions). After each step it counts each page's SQL
queries in this process (django.test.Client, CaptureQueriesContext, the same database and cache).
After the last step it measures each page's CPU time in this process (one request at a time), then
times each page from this process against the running site (a client with `--threads` threads, each
with its own connection, the pages interleaved so that drift on a shared machine falls on all of
them) and prints each page's median, p95, p95 ratio to the bare view's p95, its query counts and
its CPU time and CPU ratio to the bare view's.

`--keep` keeps the database; `--database NAME` times a kept one again without seeding (its query
counts are then of one size only, and `query_counts_constant` is false).

The last line is JSON: `worst_p95_ratio`, `query_counts_constant` (each page's count the same at
both sizes), and per page the median and p95 (ms), the ratios, the CPU time and the two counts.
"""

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import ScratchDatabase, free_port  # noqa: E402

BIN = Path(sys.executable).parent
SMALL = 1_000
ADMINISTRATIONS = 50
LINES = 5
EVENTS = 10
BATCH = 5_000
ISSUER = "https://login.clearfacts.invalid"
CHUNK = 10_000
# SECURE_PROXY_SSL_HEADER: the request came over HTTPS to the proxy, as in production (no redirect).
HTTPS = {"X-Forwarded-Proto": "https"}
# Pages that HTMX loads into another: asked for as HTMX asks (HX-Request), as the browser does.
PARTIALS = {"timeline partial", "notification bell"}
HTMX = {"HX-Request": "true"}
OK = {
    200,
    286,
}  # 286: HTMX's "stop polling", the timeline of an invoice that no longer changes  # invoices built and inserted at a time


def company_number(n: int) -> str:
    """A valid Belgian company number (the last two digits: 97 minus the first eight modulo 97)."""
    first = 8_000_000 + n  # the first eight digits, a leading zero before them
    return f"0{first}{97 - first % 97:02d}"


class Site:
    """The portal under gunicorn, in production's settings (DEBUG off) plus the bare view."""

    def __init__(self, folder: Path, database: ScratchDatabase, workers: int, celery_workers: int):
        cache = os.environ.get("CACHE_URL", "")
        if not cache.startswith("redis://"):
            raise SystemExit("CACHE_URL must name a Redis database (redis://…), as in production")
        broker = os.environ.get("CELERY_BROKER_URL", "")
        if not broker.startswith("redis://"):
            raise SystemExit("CELERY_BROKER_URL must name a Redis database (redis://…), as in production")
        self.folder, self.workers, self.celery_workers = folder, workers, celery_workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE", "DEBUG"}
        }
        self.env = base | {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "VAR_DIR": str(folder / "var"),
            "DATABASE_URL": database.url,
            "CACHE_URL": cache,
            "CELERY_BROKER_URL": broker,
            "DEBUG": "0",
            "SANDBOX": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "SITE_URL": self.url,
            "ALLOWED_HOSTS": "127.0.0.1,testserver",
            "LOG_LEVEL": "WARNING",
            # Required with DEBUG off; never called: the pages measured read only the portal's database.
            "CLEARFACTS_OIDC_ISSUER": ISSUER,
            "CLEARFACTS_GRAPHQL_URL": "https://api.clearfacts.invalid/graphql",
            "OIDC_RP_CLIENT_ID": "bench",
            "OIDC_RP_CLIENT_SECRET": secrets.token_urlsafe(20),
            "CLEARVO_API_URL": "https://api.clearvo.invalid/v1",
            "CLEARVO_API_KEY": "ck_test_bench",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        self.processes = []

    def manage(self, *args) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def prepare(self) -> None:
        self.manage("migrate", "--noinput", "-v0")
        self.manage("collectstatic", "--noinput", "-v0")

    def start(self, name: str, args: list[str], **env) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (closed in down)
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env | env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append((process, log))
        return process

    def up(self) -> None:
        """gunicorn (gunicorn.conf.py's threaded workers, read from ROOT), the Celery workers and beat:
        production's shape. The workers and beat do what they would on a quiet day (the watchdog's and
        the poller's ticks) while the pages are timed."""
        self.start(
            "gunicorn",
            [str(BIN / "gunicorn"), "portal.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)],
        )
        celery = [str(BIN / "celery"), "-A", "portal"]
        for n in range(self.celery_workers):
            # At INFO, for its "ready." line.
            worker = [*celery, "worker", "--loglevel=INFO", "--concurrency=1", "-n", f"bench{n}@%h"]
            self.start(f"worker-{n}", worker, LOG_LEVEL="INFO")
        if self.celery_workers:
            self.start("beat", [*celery, "beat", "--loglevel=WARNING", "-s", str(self.folder / "var" / "beat")])
        deadline = time.monotonic() + 90
        # Every process booted (their imports are seconds of CPU) before anything is timed.
        while not (self.answers() and self.workers_ready()):
            if self.running() or time.monotonic() > deadline:
                raise RuntimeError(f"the site did not start; see the logs in {self.folder}")
            time.sleep(0.3)

    def answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/bench/bare/", headers=HTTPS, timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def workers_ready(self) -> bool:
        logs = [self.folder / f"worker-{n}.log" for n in range(self.celery_workers)]
        return all(b" ready." in log.read_bytes() for log in logs)

    def down(self) -> None:
        for process, _log in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, log in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            log.close()

    def running(self) -> list[str]:
        """The processes that died while the pages were timed (none, in a good run)."""
        return [" ".join(process.args[:4]) for process, _log in self.processes if process.poll() is not None]


class Seeder:
    """Bulk inserts of an office's years: invoices, lines, submissions, events, documents, comments, activity."""

    def __init__(self):
        from django.utils import timezone

        from accounts.models import ClearfactsCredential, Membership, Office, User
        from clearfacts_app.models import Administration, AdministrationAccess
        from clearfacts_app.roles import Role

        self.now = timezone.now()
        self.office = Office.objects.create(name="Bench office", company_number=company_number(0))
        self.user = User.objects.create_user(
            username="bench",
            email="bench@example.be",
            first_name="Bench",
            last_name="Associate",
            oidc_issuer=ISSUER,
            oidc_subject="bench",
        )
        Membership.objects.create(
            user=self.user, office=self.office, role=Membership.Role.ADMIN, kind=Membership.Kind.ASSOCIATE
        )
        ClearfactsCredential.objects.create(
            user=self.user,
            access_token="bench",  # noqa: S106 (never sent: the pages measured do not call Clearfacts)
            scopes="openid profile email",
        )
        self.administrations = Administration.objects.bulk_create(
            [
                Administration(office=self.office, name=f"Client {n:02d} BV", company_number=company_number(n))
                for n in range(1, ADMINISTRATIONS + 1)
            ]
        )
        AdministrationAccess.objects.bulk_create(
            [AdministrationAccess(user=self.user, administration=a, role=Role.MANAGER) for a in self.administrations]
        )
        self.invoices = 0
        self.body = b'{"bench": true}'

    @classmethod
    def kept(cls) -> "Seeder":
        """The office of a database an earlier run kept (--keep): to time it again without seeding."""
        from accounts.models import ClearfactsCredential, User
        from clearfacts_app.models import Administration
        from invoicing.models import Invoice

        seeder = cls.__new__(cls)
        seeder.user = User.objects.get(username="bench")
        # Written again under this run's FIELD_ENCRYPTION_KEY (each run makes its own).
        ClearfactsCredential.objects.filter(user=seeder.user).update(access_token="bench")  # noqa: S106 (never sent)
        seeder.administrations = list(Administration.objects.filter(name__endswith=" BV").order_by("pk"))
        seeder.invoices = Invoice.objects.count()
        return seeder

    def grow(self, total: int) -> None:
        """Invoices (with everything that comes with them) up to `total`."""
        while self.invoices < total:
            size = min(CHUNK, total - self.invoices)
            self._chunk(self.invoices, size)
            self.invoices += size
        from django.db import connection

        with connection.cursor() as cursor:  # what documents.document_create keeps, one upload at a time
            cursor.execute(
                "UPDATE clearfacts_app_administration a SET document_count ="
                " (SELECT count(*) FROM clearfacts_app_document d WHERE d.administration_id = a.id)"
            )

    def _chunk(self, start: int, size: int) -> None:
        from clearfacts_app.models import Activity, Document, Notification
        from invoicing.clearvo import body_sha256
        from invoicing.models import ClearanceEvent, Invoice, InvoiceComment, InvoiceLine, Submission

        State, Status = Submission.State, Invoice.Status
        invoices = []
        for n in range(start, start + size):
            # Mostly accepted; every 20th still pending; a few rejected or held (the cockpit's problems).
            if n % 2000 == 7:
                status, state, clearance = Status.REJECTED, State.SENT, "REJECTED"
            elif n % 2000 == 13:
                status, state, clearance = Status.DRAFT, State.HELD, ""
            elif n % 20 == 3:
                status, state, clearance = Status.PENDING, State.SENT, "PENDING"
            else:
                status, state, clearance = Status.ACCEPTED, State.SENT, "ACCEPTED"
            invoice = Invoice(
                administration=self.administrations[n % ADMINISTRATIONS],
                author=self.user,
                invoice_number=f"B{n:07d}",
                issue_date=date(2024, 1, 1) + timedelta(days=n % 700),
                country="IT",
                buyer_name=f"Cliente {n % 997} SpA",
                buyer_city="Roma",
                buyer_country="IT",
                status=status,
            )
            invoice.bench = (state, clearance)
            invoices.append(invoice)
        invoices = Invoice.objects.bulk_create(invoices, batch_size=BATCH)
        InvoiceLine.objects.bulk_create(
            [
                InvoiceLine(
                    invoice=invoice,
                    position=p,
                    description=f"Consulenza {p}",
                    quantity=Decimal(1 + p),
                    unit_price=Decimal("100.00"),
                    tax_code="S",
                )
                for invoice in invoices
                for p in range(LINES)
            ],
            batch_size=BATCH,
        )
        digest = body_sha256(self.body)
        submissions = Submission.objects.bulk_create(
            [
                Submission(
                    invoice=invoice,
                    submitted_by=self.user,
                    invoice_number=invoice.invoice_number,
                    invoice_version=1,
                    body=self.body,
                    body_sha256=digest,
                    idempotency_key=uuid.uuid4(),
                    api_mode="test",
                    state=invoice.bench[0],
                    attempts=1,
                    first_attempt_at=self.now,
                    reference_id=f"IT-BENCH-{invoice.pk}" if invoice.bench[1] else "",
                    clearance_status=invoice.bench[1],
                    terminal=invoice.bench[1] in ("ACCEPTED", "REJECTED"),
                    submitted_at=self.now if invoice.bench[1] else None,
                    rejected_at=self.now if invoice.bench[1] == "REJECTED" else None,
                    status_since=self.now,
                    next_poll_at=self.now + timedelta(days=1) if invoice.bench[1] == "PENDING" else None,
                    reason_code="",
                )
                for invoice in invoices
            ],
            batch_size=BATCH,
        )
        events = []
        for submission in submissions:
            # The first invoice has the long history (50 events): the invoice page and its timeline.
            count = 50 if submission.invoice.invoice_number == "B0000000" else EVENTS
            final = submission.clearance_status or "PENDING"
            for e in range(count):
                events.append(
                    ClearanceEvent(
                        submission=submission,
                        status=final if e == count - 1 else "PENDING",
                        at=self.now - timedelta(minutes=count - e),
                        message=f"Step {e + 1}: forwarded to the authority",
                    )
                )
        ClearanceEvent.objects.bulk_create(events, batch_size=BATCH)
        del events
        documents = Document.objects.bulk_create(
            [
                Document(
                    administration=self.administrations[n % ADMINISTRATIONS],
                    uploaded_by=self.user,
                    destination=Document.Destination.INBOX,
                    invoice_type=Document.InvoiceType.PURCHASE,
                    filename=f"purchase-{n:07d}.pdf",
                    file=f"documents/bench/purchase-{n:07d}.pdf",
                    content_type="application/pdf",
                    size=12_345,
                    sha256=f"{n:064x}",
                    status=Document.Status.SENT,
                    sent_at=self.now,
                )
                for n in range(start, start + size, 2)
            ],
            batch_size=BATCH,
        )
        InvoiceComment.objects.bulk_create(
            [
                InvoiceComment(
                    invoice=invoice,
                    administration_id=invoice.administration_id,
                    author=self.user,
                    body="Checked with the client.",
                )
                for invoice in invoices
            ],
            batch_size=BATCH,
        )
        Activity.objects.bulk_create(
            [
                Activity(
                    office=self.office,
                    administration_id=invoice.administration_id,
                    actor=self.user,
                    action="invoice.created",
                    data={"invoice": invoice.pk, "number": invoice.invoice_number, "type": invoice.document_type},
                )
                for invoice in invoices
            ],
            batch_size=BATCH,
        )
        # A notification per 50 invoices, every fifth unread.
        Notification.objects.bulk_create(
            [
                Notification(
                    recipient=self.user,
                    administration_id=submission.invoice.administration_id,
                    kind=Notification.Kind.INVOICE_ACCEPTED,
                    key=f"submission:{submission.pk}",
                    data={
                        "submission": submission.pk,
                        "invoice": submission.invoice_id,
                        "number": submission.invoice.invoice_number,
                        "outcome": "accepted",
                    },
                    url=f"/administrations/{submission.invoice.administration.company_number}/invoices/{submission.invoice_id}/",
                    read_at=None if n % 5 == 0 else self.now,
                )
                for n, submission in enumerate(submissions)
                if submission.invoice_id % 50 == 0
            ],
            batch_size=BATCH,
        )
        del documents

    def pages(self) -> dict[str, str]:
        """The pages measured, by name: path and query string."""
        from invoicing.models import Invoice
        from invoicing.selectors import PAGE_SIZE, Cursor

        administration = self.administrations[0]
        base = f"/administrations/{administration.company_number}"
        first = Invoice.objects.get(invoice_number="B0000000")
        invoices = Invoice.objects.filter(administration=administration).order_by("created_at", "id")
        # The oldest page: the one after (older than) the invoice just newer than the oldest PAGE_SIZE
        # (with fewer invoices than that, after the newest: a page all the same).
        newest_of_last = invoices[min(PAGE_SIZE, invoices.count() - 1)]
        return {
            "dashboard": "/",
            "administrations": "/administrations/",
            "invoices first page": f"{base}/invoices/",
            "invoices last page": f"{base}/invoices/?after={Cursor.of(newest_of_last)}",
            "invoices status filter": f"{base}/invoices/?status=rejected",
            "invoices search": f"{base}/invoices/?q=Cliente+50",  # matches at both sizes (n = 50, 500 to 509)
            "invoice with 50 events": f"{base}/invoices/{first.pk}/",
            "timeline partial": f"{base}/invoices/{first.pk}/timeline/",
            "documents": "/documents/",
            "activity": "/activity/",
            "notification bell": "/notifications/bell/",
            "cockpit": "/office/clearance/",
        }


def signed_in(user):
    """A test client in this process, signed in as `user` with the site's authentication backend."""
    from django.test import Client

    client = Client()
    client.force_login(user, backend="accounts.oidc.ClearfactsOIDCBackend")
    return client


def query_counts(user, pages: dict[str, str]) -> dict[str, int]:
    """Each page's SQL queries, served in this process by the test client (session and user included)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in(user)
    counts = {}
    for name, url in pages.items():
        headers = HTMX if name in PARTIALS else {}
        client.get(url, secure=True, headers=headers)  # warm: caches filled, as on a site in use
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, secure=True, headers=headers)
        if response.status_code not in OK:
            raise RuntimeError(f"{name} ({url}) answered {response.status_code}")
        counts[name] = len(queries)
    return counts


def cpu_costs(user, pages: dict[str, str], *, rounds: int = 10) -> dict[str, float]:
    """Each page's CPU time in this process (the test client, one request at a time, the fastest of
    `rounds`), in ms: what the page itself costs, steadier than latencies on a shared machine."""
    client = signed_in(user)
    costs = {}
    for name, url in pages.items():
        headers = HTMX if name in PARTIALS else {}
        client.get(url, secure=True, headers=headers)
        spent = []
        for _ in range(rounds):
            started = time.process_time()
            client.get(url, secure=True, headers=headers)
            spent.append(time.process_time() - started)
        costs[name] = min(spent) * 1000
    return costs


def session_cookie(user) -> dict[str, str]:
    from django.conf import settings

    client = signed_in(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


def timings(site: Site, pages: dict[str, str], cookies: dict, *, rounds: int, threads: int) -> dict[str, list[float]]:
    """Seconds per request of each page: `threads` clients, each going through every page `rounds` times."""
    found = {name: [] for name in pages}
    failures = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        session = requests.Session()
        session.headers.update(HTTPS)
        session.cookies.update(cookies)
        names = list(pages)
        for r in range(rounds):
            for i in range(len(names)):
                name = names[(i + offset + r) % len(names)]
                started = time.perf_counter()
                response = session.get(
                    site.url + pages[name],
                    headers=HTMX if name in PARTIALS else None,
                    timeout=60,
                    allow_redirects=False,
                )
                elapsed = time.perf_counter() - started
                with lock:
                    if response.status_code not in OK:
                        failures.append((name, response.status_code))
                    found[name].append(elapsed)

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed: {failures[:5]}")
    return found


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=100_000, help="invoices at the large size (default 100,000)")
    parser.add_argument("--requests", type=int, default=60, help="requests per page (default 60)")
    parser.add_argument("--threads", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--celery-workers", type=int, default=2, help="Celery worker processes, with beat (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the scratch folder (the logs)")
    parser.add_argument(
        "--database", default="", help="time again a database kept by --keep (no seeding; it is kept again)"
    )
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="portal-bench-pages-"))
    (folder / "var").mkdir()
    database = ScratchDatabase("bench_pages", name=options.database)
    site = Site(folder, database, options.workers, options.celery_workers)
    if not options.database:
        database.create()
    try:
        print(f"Scratch folder: {folder}; database {database.name}; cache {site.env['CACHE_URL']}")
        site.prepare()
        os.environ.update(site.env)
        import django

        django.setup()
        from django.core.cache import cache
        from django.db import connection

        counts, seeding = {}, {}
        if options.database:
            seeder = Seeder.kept()
            sizes = [seeder.invoices]
        else:
            seeder = Seeder()
            sizes = [SMALL, options.invoices]
        for size in sizes:
            started = time.perf_counter()
            seeder.grow(size)
            with connection.cursor() as cursor:
                # What autovacuum does soon after bulk inserts on a live database: the statistics, and the
                # visibility map that lets counts read an index alone (the dashboard's invoice counts).
                cursor.execute("VACUUM ANALYZE")
            seeding[size] = time.perf_counter() - started
            pages = seeder.pages()
            cache.clear()
            counts[size] = query_counts(seeder.user, pages)
            print(f"Seeded {size:,} invoices in all ({seeding[size]:.0f} s for this step)")
        small, large = sizes[0], sizes[-1]
        cpu = cpu_costs(seeder.user, pages | {"bare Django view": "/bench/bare/"})
        connection.close()

        site.up()
        bare = {"bare Django view": "/bench/bare/"}
        cookies = session_cookie(seeder.user)
        connection.close()
        rounds = max(1, options.requests // options.threads)
        timings(site, pages | bare, cookies, rounds=2, threads=options.threads)  # warm every worker
        found = timings(site, pages | bare, cookies, rounds=rounds, threads=options.threads)
        bare_p95 = p95(found["bare Django view"])
        load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
        if died := site.running():
            raise RuntimeError(f"died while the pages were timed: {died}; see the logs in {folder}")
        print(
            f"\n{large:,} invoices, gunicorn {options.workers} workers (gthread), "
            f"{options.celery_workers} Celery workers and beat, "
            f"{options.threads} client threads, {rounds * options.threads} requests per page; "
            f"load average {load}; {os.cpu_count()} CPUs"
        )
        print(
            f"{'page':<26} {'median ms':>10} {'p95 ms':>8} {'p95 ratio':>10} {'queries':>8} {'at ' + f'{large:,}':>12}"
            f" {'cpu ms':>7} {'cpu ratio':>9}"
        )
        figures = {}
        for name in [*pages, *bare]:
            values = found[name]
            median, high = statistics.median(values) * 1000, p95(values) * 1000
            ratio = p95(values) / bare_p95
            at_small, at_large = counts[small].get(name), counts[large].get(name)
            cpu_ratio = cpu[name] / cpu["bare Django view"]
            figures[name] = {
                "median_ms": round(median, 1),
                "p95_ms": round(high, 1),
                "p95_ratio": round(ratio, 2),
                "cpu_ms": round(cpu[name], 1),
                "cpu_ratio": round(cpu_ratio, 1),
            }
            if at_small is not None:
                figures[name] |= {"queries": {str(small): at_small, str(large): at_large}}
            flag = "" if at_small == at_large else "  <- grows"
            print(
                f"{name:<26} {median:>10.1f} {high:>8.1f} {ratio:>10.2f} {at_small if at_small is not None else '':>8} "
                f"{at_large if at_large is not None else '':>12} {cpu[name]:>7.1f} {cpu_ratio:>9.1f}{flag}"
            )
        print(
            json.dumps(
                {
                    "invoices": large,
                    "seconds_seeding": round(sum(seeding.values())),
                    "worst_p95_ratio": round(max(f["p95_ratio"] for n, f in figures.items() if n in pages), 2),
                    "query_counts_constant": counts[small] == counts[large] and small != large,
                    "pages": figures,
                }
            )
        )
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 (Django may not be set up yet)
            pass
        site.down()
        if options.keep or options.database:  # a database named on the command line is never dropped
            print(f"Kept: the database {database.name} (time it again with --database), the logs in {folder}")
        else:
            database.drop()
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
