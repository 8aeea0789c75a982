"""The sandbox's Clearvo data: the two API keys the portal's settings name."""

from django.conf import settings

from sandbox.clearvo.keys import api_key_save, display_prefix

ORGANISATION = "Clearfacts portal (sandbox)"


def seed() -> list[str]:
    """Creates or updates (and reactivates) the test and live keys; returns lines to print."""
    api_key_save(raw_key=settings.SANDBOX_CLEARVO_TEST_KEY, organisation=ORGANISATION)
    api_key_save(raw_key=settings.SANDBOX_CLEARVO_LIVE_KEY, organisation=ORGANISATION)
    return [
        f"Clearvo test key: {settings.SANDBOX_CLEARVO_TEST_KEY}",
        f"Clearvo live key: {display_prefix(settings.SANDBOX_CLEARVO_LIVE_KEY)} (SANDBOX_CLEARVO_LIVE_KEY)",
    ]
