"""What the submission tests share: the live sandbox's Clearvo, and the sends and announcements they record."""

import pytest
from django.test import override_settings

from invoicing import submissions
from sandbox.clearvo.seed import seed as seed_clearvo
from tests.invoicing.editor_helpers import complete_profile


@pytest.fixture
def live_clearvo(portal, administration):
    """The live sandbox's Clearvo without faults or latency, and an administration ready to invoice."""
    seed_clearvo()
    complete_profile(administration)
    with override_settings(SANDBOX_FAULT_RATE=0.0, SANDBOX_LATENCY_MS=0):
        yield portal


@pytest.fixture
def dispatched(monkeypatch):
    """The sends handed to the broker (recorded here instead), as (submission id, countdown)."""
    sent = []
    monkeypatch.setattr(submissions, "_dispatch", lambda pk, countdown=None: sent.append((pk, countdown)))
    return sent


@pytest.fixture
def notified(monkeypatch):
    """The submissions whose outcome was announced (after commit)."""
    calls = []
    monkeypatch.setattr(submissions.notifications, "submission_outcome_notify", calls.append)
    return calls
