import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import translation

from accounts.models import Membership, User
from tests.factories import make_administration, make_office, make_user
from tests.in_flight import wait_for_requests_in_flight

pytest_plugins = ["tests.portal_site", "tests.seeded", "tests.signed_in"]

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def book_filings_kept_from_the_broker(request, monkeypatch):
    """An accepted invoice's filing task stays out of the broker unless the test is about it
    (marked books_dispatched): a live worker of the session would otherwise run it during the
    test's teardown, where its writes and the TRUNCATE deadlock."""
    if not request.node.get_closest_marker("books_dispatched"):
        from invoicing import books

        monkeypatch.setattr(books, "_dispatch", lambda filing_id: None)


@pytest.fixture(autouse=True)
def in_the_default_language():
    """Each test starts in the site's default language: Django's LocaleMiddleware activates a request's
    language in the thread and never deactivates it, so a test client request in nl would leave the
    next test in this process reading nl."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


def portal_first(request):
    """In a test on the live portal, the portal (its seeded sandbox, its issuer) comes before the people."""
    if "portal" in request.fixturenames:
        request.getfixturevalue("portal")


# The people of every access test: an owner (office admin), a member, a viewer, a colleague
# without a grant, and an outsider from another office. Each is a sandbox person too (tests/factories.py).
@pytest.fixture
def office(db, request):
    portal_first(request)
    return make_office("Fiduciaire Dupont")


@pytest.fixture
def administration(office):
    return make_administration(office, "Bakkerij Janssens BV")


@pytest.fixture
def owner(office, administration):
    return make_user(office, role=Membership.Role.ADMIN, administrations=[administration], name="Els Dupont")


@pytest.fixture
def member(office, administration):
    return make_user(office, role=Membership.Role.MEMBER, administrations=[administration], name="Jan Peeters")


@pytest.fixture
def viewer(office, administration):
    return make_user(office, role=Membership.Role.VIEWER, administrations=[administration], name="Lies Maes")


@pytest.fixture
def colleague_without_access(office):
    return make_user(office, name="Tom Claes")


@pytest.fixture
def other_office(db, request):
    portal_first(request)
    return make_office("Comptabilité Lambert")


@pytest.fixture
def other_administration(other_office):
    return make_administration(other_office, "Boulangerie Dubois SRL")


@pytest.fixture
def outsider(other_office, other_administration):
    return make_user(other_office, administrations=[other_administration], name="Marc Lambert")


@pytest.fixture
def admin_user(db):
    """Platform staff with TOTP set up (replaces pytest-django's fixture of the same name)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = User.objects.create_superuser(username="admin@portal.test", email="admin@portal.test", password="x" * 20)
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def admin_client(client, admin_user):
    """Signed in as staff through the staff backend; the staff sign-in itself is tested in tests/accounts."""
    client.force_login(admin_user, backend="accounts.staff.StaffAuthenticationBackend")
    return client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The URL of the database this test run uses, for processes the tests start."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


# Set in this process for the tests' own sake (browser tests); never for the processes they start.
TEST_ONLY_VARIABLES = {"DJANGO_ALLOW_ASYNC_UNSAFE"}


def child_environ() -> dict:
    return {key: value for key, value in os.environ.items() if key not in TEST_ONLY_VARIABLES}


@pytest.fixture
def process_env(transactional_db):
    """Environment for a worker or server process that shares this test's database."""
    env = child_environ()
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        VAR_DIR=str(settings.VAR_DIR),
        DATABASE_URL=database_url(),
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    return env


class Process:
    """A child process whose output is kept in a file and shown when a test fails."""

    def __init__(self, args, env, log_path: Path, cwd=ROOT):
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=15, timeout=20):
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, 9)
                self.popen.wait()
        self.log.close()


# The session's live worker, once a test started it (one per process, so one per xdist worker).
LIVE_WORKERS = []


def is_celery_worker(args) -> bool:
    return Path(str(args[0])).name == "celery" and "worker" in args


@pytest.fixture
def start_process(tmp_path, request):
    started, paused = [], []

    def start(args, env, name="process", cwd=ROOT):
        if is_celery_worker(args):
            # A test's own worker is the only one taking its tasks: the live worker waits meanwhile.
            for worker in LIVE_WORKERS:
                if worker.running:
                    worker.stop()
                    paused.append(worker)
        process = Process(args, env, tmp_path / f"{name}-{len(started)}.log", cwd=cwd)
        started.append(process)
        return process

    yield start
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for process in started:
        process.stop()
        if failed:
            print(f"--- output of {process.popen.args}:\n{process.output()[-6000:]}")
    for worker in paused:
        worker.start()


@pytest.fixture
def celery_worker_process(process_env, start_process):
    """A real Celery worker in its own process, on this run's broker and database."""
    worker = start_process(
        [
            str(VENV_BIN / "celery"),
            "-A",
            "portal",
            "worker",
            "--loglevel=INFO",
            "--concurrency=1",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        process_env,
        name="worker",
    )
    deadline = time.monotonic() + 60
    while "ready." not in worker.output():
        if worker.popen.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the Celery worker did not start:\n{worker.output()[-4000:]}")
        time.sleep(0.2)
    return worker


def wait_until(predicate, *, timeout=30.0, interval=0.2, message="condition", process=None):
    """Polls `predicate` until it is truthy; fails with the process's output when it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    output = f"\n{process.output()[-5000:]}" if process else ""
    pytest.fail(f"timed out after {timeout} s waiting for {message}{output}")


def worker_args(name: str) -> list[str]:
    return [
        str(VENV_BIN / "celery"),
        "-A",
        "portal",
        "worker",
        "--loglevel=INFO",
        "--pool=solo",
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"{name}-{os.getpid()}@%h",
    ]


def wait_for_worker(worker) -> None:
    wait_until(
        lambda: "ready." in worker.output() or worker.popen.poll() is not None,
        timeout=60,
        message="the worker to start",
        process=worker,
    )
    if worker.popen.poll() is not None:
        pytest.fail(f"the Celery worker exited:\n{worker.output()[-4000:]}")


@pytest.fixture
def live_worker(session_worker):
    """The session's real Celery worker, started again if a test stopped it (with the queue emptied
    first: tasks other tests left there are not this test's). When the test ends, the task it is
    running finishes before the tables are emptied: a send read before the flush would otherwise
    reach the sandbox after it, and be logged in the next test's tables."""
    if not session_worker.running:
        from portal.celery import app

        app.control.purge()
        session_worker.start()
    yield session_worker
    if session_worker.running:
        session_worker.finish_current_task()


@pytest.fixture
def worker_for_this_test(live_worker):
    """The live worker, stopped when the test ends: the tests that follow in this process (most of
    tests/invoicing) dispatch tasks that they expect no worker to take."""
    yield live_worker
    live_worker.stop()


@pytest.fixture(scope="session")
def session_worker(live_server, django_db_setup, tmp_path_factory):
    """One real Celery worker for a test session, talking to the live server's sandbox."""
    issuer = f"{live_server.url}/sandbox/clearfacts"
    env = child_environ() | {
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "VAR_DIR": str(settings.VAR_DIR),
        "DATABASE_URL": database_url(),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "CLEARFACTS_OIDC_ISSUER": issuer,
        "CLEARFACTS_GRAPHQL_URL": f"{issuer}/graphql",
        "CLEARVO_API_URL": f"{live_server.url}/sandbox/clearvo/v1",
    }
    worker = Worker(env, tmp_path_factory.mktemp("worker"))
    worker.start()
    LIVE_WORKERS.append(worker)
    yield worker
    LIVE_WORKERS.remove(worker)
    worker.stop()


class Worker:
    """A worker process that a test may kill (SIGKILL, as a crash) and start again."""

    def __init__(self, env, log_dir: Path):
        self.env, self.log_dir, self.generation, self.process = env, log_dir, 0, None

    @property
    def name(self) -> str:
        return f"w{self.generation}"

    def start(self):
        self.generation += 1
        self.process = Process(worker_args(self.name), self.env, self.log_dir / f"{self.generation}.log")
        wait_for_worker(self.process)

    def finish_current_task(self):
        """Waits until the worker answers a ping: a solo pool reads control messages only between
        tasks, so its answer means the task it was running has ended."""
        from portal.celery import app

        node = f"{self.name}-{os.getpid()}@{socket.gethostname()}"
        app.control.ping(destination=[node], timeout=QUIET_WAIT_SECONDS, limit=1)

    def kill(self):
        os.killpg(self.process.popen.pid, signal.SIGKILL)
        self.process.popen.wait()
        self.process.log.close()

    def stop(self):
        self.process.stop()

    @property
    def running(self) -> bool:
        return self.process.popen.poll() is None

    def output(self) -> str:
        return self.process.output()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


QUIET_WAIT_SECONDS = 15
OTHER_TRANSACTIONS = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND backend_type = 'client backend' AND state IN ('active', 'idle in transaction')
"""


def wait_for_other_transactions(cursor) -> None:
    """Until no other session on this test database (the session's worker, the live server's
    threads) is inside a transaction, for at most QUIET_WAIT_SECONDS."""
    deadline = time.monotonic() + QUIET_WAIT_SECONDS
    while time.monotonic() < deadline:
        cursor.execute(OTHER_TRANSACTIONS)
        if not cursor.fetchone()[0]:
            return
        time.sleep(0.05)


@pytest.fixture(scope="session", autouse=True)
def _flush_when_the_database_is_quiet():
    """A committed test ends with every table truncated. Whatever still runs then must finish first:
    - a live-server thread still answering (a worker's send, a browser's poll) would otherwise read
      the emptied tables and write into the next test's (tests/in_flight.py);
    - on PostgreSQL, a background task still finishing (a worker writing its last status, the
      sandbox answering it) holds row locks the TRUNCATE must wait for, while its next foreign-key
      check waits for the TRUNCATE: PostgreSQL then kills one of them as a deadlock. So the flush
      waits until the other sessions are out of their transactions, and a deadlock that still
      happens is tried again (the other side has then committed)."""
    from django.db import OperationalError

    operations = type(connection.ops)
    flush = operations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        for attempt in range(4):
            wait_for_requests_in_flight(QUIET_WAIT_SECONDS)
            if self.connection.vendor == "postgresql":
                with self.connection.cursor() as cursor:
                    wait_for_other_transactions(cursor)
            try:
                return flush(self, sql_list)
            except OperationalError as error:
                if "deadlock detected" not in str(error) or attempt == 3:
                    raise

    operations.execute_sql_flush = execute_sql_flush
    yield
    operations.execute_sql_flush = flush


@pytest.fixture(scope="session", autouse=True)
def _clean_broker_folders():
    # Messages left by an interrupted earlier run must not be picked up by this run's workers.
    for folder in settings.CELERY_BROKER_FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)
    if not settings.CELERY_BROKER_FOLDERS:
        from portal.celery import app

        app.control.purge()
    yield
