"""API keys: created from a raw key, looked up by hash, shown only by their prefix."""

import secrets

from sandbox.clearvo.models import ApiKey, Environment, key_hash

PREFIX_ENVIRONMENTS = {"ck_test_": Environment.TEST, "ck_live_": Environment.LIVE}
DISPLAY_LENGTH = 12


def environment_of(raw_key: str) -> Environment:
    for prefix, environment in PREFIX_ENVIRONMENTS.items():
        if raw_key.startswith(prefix) and len(raw_key) > len(prefix):
            return environment
    raise ValueError("a Clearvo API key starts with ck_test_ or ck_live_")


def display_prefix(raw_key: str) -> str:
    return f"{raw_key[:DISPLAY_LENGTH]}…"


def generate_key(environment: Environment = Environment.TEST) -> str:
    return f"ck_{environment}_{secrets.token_hex(16)}"


def api_key_save(*, raw_key: str, organisation: str, is_active: bool = True) -> ApiKey:
    """Creates or updates the key whose hash matches `raw_key`."""
    api_key, _ = ApiKey.objects.update_or_create(
        key_hash=key_hash(raw_key),
        defaults={
            "prefix": display_prefix(raw_key),
            "environment": environment_of(raw_key),
            "organisation": organisation,
            "is_active": is_active,
        },
    )
    return api_key


def api_key_authenticate(*, raw_key: str | None) -> ApiKey | None:
    """The active key matching `raw_key`, else None."""
    if not raw_key:
        return None
    return ApiKey.objects.filter(key_hash=key_hash(raw_key), is_active=True).first()
