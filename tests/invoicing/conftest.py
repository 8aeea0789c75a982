"""What the submission tests share: the live sandbox's Clearvo, the sends and announcements they record,
and the people and draft of the four-eyes tests."""

import pytest
from django.test import override_settings

from accounts.models import Membership
from clearfacts_app.roles import Role
from invoicing import submissions
from sandbox.clearvo.seed import seed as seed_clearvo
from tests.factories import make_user
from tests.invoicing.editor_helpers import complete_profile
from tests.invoicing.submit_helpers import ready_draft


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


# Four-eyes approval (tests/invoicing/test_reviews*.py): an administration that asks for it, a draft of
# the member's, a second approver and a drafter.


@pytest.fixture
def four_eyes(administration):
    return complete_profile(administration, four_eyes=True)


@pytest.fixture
def colleague(office, administration):
    """A second approver of the administration."""
    return make_user(office, role=Membership.Role.MEMBER, administrations=[administration], name="Sara Wouters")


@pytest.fixture
def drafter(office, administration):
    return make_user(office, administrations=[administration], administration_role=Role.DRAFTER, name="Piet Drafter")


@pytest.fixture
def draft(four_eyes, administration, member):
    return ready_draft(administration, member)
