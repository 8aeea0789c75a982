"""What the submission tests share: the live sandbox's Clearvo, and the sends and announcements they record."""

import pytest
from django.test import override_settings

from invoicing import books, submissions
from sandbox.clearvo.seed import seed as seed_clearvo
from tests.invoicing.editor_helpers import complete_profile


@pytest.fixture
def live_clearvo(portal, administration):
    """The live sandbox's Clearvo without faults or latency, and an administration ready to invoice."""
    seed_clearvo()
    complete_profile(administration)
    with override_settings(SANDBOX_FAULT_RATE=0.0, SANDBOX_LATENCY_MS=0):
        yield portal


@pytest.fixture(autouse=True)
def book_filings_kept_from_the_broker(request, monkeypatch):
    """An accepted invoice's filing task stays out of the broker unless the test is about it
    (marked books_dispatched): a live worker of the session would otherwise run it during the
    test's teardown, where its writes and the TRUNCATE deadlock."""
    if not request.node.get_closest_marker("books_dispatched"):
        monkeypatch.setattr(books, "_dispatch", lambda filing_id: None)


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
