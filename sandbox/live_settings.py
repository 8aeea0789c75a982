"""The sandbox's knobs in force now: the Sandbox settings row, else the environment variables.

Read from the database once per simulated API call (one primary-key query) and pinned for that
call, so a change on /sandbox/ or in the admin applies to the next call, in every process.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_float, env_str
from sandbox.models import Kind, SandboxSettings, Service, parse_fault_kinds

# Model field -> the setting (environment variable) it overrides.
SETTINGS = {
    "fault_rate": "SANDBOX_FAULT_RATE",
    "after_commit_share": "SANDBOX_AFTER_COMMIT_SHARE",
    "fault_service": "SANDBOX_FAULT_SERVICE",
    "hold_seconds": "SANDBOX_HOLD_SECONDS",
    "fault_kinds": "SANDBOX_FAULT_KINDS",
    "latency_ms": "SANDBOX_LATENCY_MS",
    "time_factor": "SANDBOX_TIME_FACTOR",
    "bandwidth_kbps": "SANDBOX_BANDWIDTH_KBPS",
}


def _fault_service(name: str) -> str:
    value = env_str(name).strip()
    if value and value not in Service.values:
        raise ImproperlyConfigured(f"{name} must be empty or one of {', '.join(Service.values)}, not {value!r}")
    return value


def _fault_kinds(name: str) -> str:
    value = env_str(name, Kind.ERROR)
    try:
        parse_fault_kinds(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}: {error}") from None
    return value


# The fault knobs added with after-commit faults belong to the sandbox alone; portal/settings.py
# may still name them (a Django setting wins, so override_settings works in tests).
ENVIRONMENT_DEFAULTS = {
    "SANDBOX_AFTER_COMMIT_SHARE": env_float("SANDBOX_AFTER_COMMIT_SHARE", 0.0, maximum=1.0),
    "SANDBOX_FAULT_KINDS": _fault_kinds("SANDBOX_FAULT_KINDS"),
    "SANDBOX_FAULT_SERVICE": _fault_service("SANDBOX_FAULT_SERVICE"),
    # A held answer outlasts the portal's own read timeout unless told otherwise.
    "SANDBOX_HOLD_SECONDS": env_float("SANDBOX_HOLD_SECONDS", settings.EXTERNAL_TIMEOUT[1] + 5, maximum=600.0),
}


@dataclass(frozen=True)
class Knobs:
    fault_rate: float
    after_commit_share: float
    fault_kinds: tuple[str, ...]
    fault_service: str  # empty: every service
    hold_seconds: float
    latency_ms: int
    time_factor: float
    bandwidth_kbps: int


def _setting(name: str):
    return getattr(settings, name, ENVIRONMENT_DEFAULTS.get(name))


def _knobs(values: dict) -> Knobs:
    kinds = values["fault_kinds"]
    values["fault_kinds"] = parse_fault_kinds(kinds) if isinstance(kinds, str) else tuple(kinds)
    values["fault_service"] = values["fault_service"] or ""
    return Knobs(**values)


def environment() -> Knobs:
    return _knobs({field: _setting(name) for field, name in SETTINGS.items()})


def read() -> Knobs:
    row = SandboxSettings.objects.filter(pk=SandboxSettings.ONLY_ID).values(*SETTINGS).first() or {}
    return _knobs(
        {field: _setting(name) if row.get(field) in (None, "") else row[field] for field, name in SETTINGS.items()}
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
