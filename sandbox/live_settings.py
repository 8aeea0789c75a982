"""The sandbox's knobs in force now: the Sandbox settings row, else the environment variables.

Read from the database once per simulated API call (one primary-key query) and pinned for that
call, so a change on /sandbox/ or in the admin applies to the next call, in every process.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings

from sandbox.models import SandboxSettings

# Model field -> the setting (environment variable) it overrides.
SETTINGS = {
    "fault_rate": "SANDBOX_FAULT_RATE",
    "latency_ms": "SANDBOX_LATENCY_MS",
    "time_factor": "SANDBOX_TIME_FACTOR",
    "bandwidth_kbps": "SANDBOX_BANDWIDTH_KBPS",
}


@dataclass(frozen=True)
class Knobs:
    fault_rate: float
    latency_ms: int
    time_factor: float
    bandwidth_kbps: int


def environment() -> Knobs:
    return Knobs(**{field: getattr(settings, name) for field, name in SETTINGS.items()})


def read() -> Knobs:
    row = SandboxSettings.objects.filter(pk=SandboxSettings.ONLY_ID).values(*SETTINGS).first() or {}
    return Knobs(
        **{field: getattr(settings, name) if row.get(field) is None else row[field] for field, name in SETTINGS.items()}
    )


_pinned: ContextVar[Knobs | None] = ContextVar("sandbox_knobs", default=None)


def current() -> Knobs:
    """The knobs of the API call being answered, or read now outside one (admin, shell)."""
    return _pinned.get() or read()


@contextmanager
def pinned() -> Iterator[Knobs]:
    """Reads the knobs once for one API call; `current()` answers them until it ends."""
    token = _pinned.set(read())
    try:
        yield _pinned.get()
    finally:
        _pinned.reset(token)
