"""The portal's settings, with the tests' scratch files kept apart from a running `make run`.

Under pytest-xdist every worker (gw0, gw1, ...) has its own VAR_DIR (the SQLite test database,
media, the file cache, Celery's filesystem broker) and, with Redis, its own database numbers, so a
Celery worker started by one xdist worker takes only that worker's tasks and a test's cache.clear()
empties only its own cache. They are set in os.environ, so the processes tests start inherit them.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... under pytest-xdist
REDIS_DATABASES = 16  # Redis' default


def _worker_number() -> int:
    return int(XDIST_WORKER.removeprefix("gw"))


def _own_redis_database(variable: str) -> None:
    """redis://host:port/N becomes .../N + 2 × (worker + 1): the broker and the cache keep apart too."""
    url = os.environ.get(variable, "")
    if not url.startswith(("redis://", "rediss://")):
        return
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) + 2 * (_worker_number() + 1)
    if number >= REDIS_DATABASES:
        raise RuntimeError(f"{variable}: xdist worker {XDIST_WORKER} needs Redis database {number}; use fewer workers")
    os.environ[variable] = urlunsplit(parts._replace(path=f"/{number}"))


_var_dir = Path(os.environ.get("VAR_DIR") or Path(__file__).resolve().parent.parent / "var" / "test")
if XDIST_WORKER:
    _var_dir = _var_dir / XDIST_WORKER
    _own_redis_database("CELERY_BROKER_URL")
    _own_redis_database("CACHE_URL")
_var_dir.mkdir(parents=True, exist_ok=True)
os.environ["VAR_DIR"] = str(_var_dir)

from portal.settings import *  # noqa: E402, F403

# Password hashing strength is not under test; PBKDF2's deliberate slowness would dominate the suite.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Live-server request threads must not keep connections open, or the test database cannot be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# Unit tests that do not start a sandbox must not reach whatever answers on the site's own port (a
# `make run` on localhost:8000 beside the suite): nothing listens on port 9, so Clearfacts and Clearvo
# "could not be reached" whatever runs on the machine. Tests that talk to a sandbox set its address.
if not os.environ.get("CLEARFACTS_GRAPHQL_URL"):
    CLEARFACTS_GRAPHQL_URL = "http://127.0.0.1:9/sandbox/clearfacts/graphql"
if not os.environ.get("CLEARVO_API_URL"):
    CLEARVO_API_URL = "http://127.0.0.1:9/sandbox/clearvo/v1"

# Counts the live server's requests being answered, so a test's flush waits for them (tests/in_flight.py).
MIDDLEWARE = ["tests.in_flight.RequestsInFlightMiddleware", *MIDDLEWARE]  # noqa: F405
