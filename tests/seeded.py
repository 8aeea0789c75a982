"""The sandbox's demo data, seeded once per test session (per xdist worker) and put back for each test.

Tests against the live server run with transactional_db, which empties every table after each test.
Seeding again for every test cost a third of a second; putting back the rows the session's one
seed() made costs a few milliseconds, and the rows are the same. seed() itself (idempotence, what
it creates) stays tested in tests/sandbox.
"""

import pytest
from django.apps import apps
from django.db import transaction

from sandbox.clearfacts.seed import seed


def sandbox_models() -> list:
    """Every model of the sandbox apps, many-to-many tables included, parents before children."""
    return [model for model in apps.get_models(include_auto_created=True) if model.__module__.startswith("sandbox.")]


class SeededSandbox:
    def __init__(self, rows: dict):
        self.rows = rows

    def restore(self) -> None:
        """Puts the seeded rows back into the emptied tables (as seed() would write them)."""
        with transaction.atomic():
            for model, instances in self.rows.items():
                model._base_manager.bulk_create(instances)


def seed_and_keep() -> SeededSandbox:
    """Runs seed() in a transaction that is rolled back, keeping the rows it made."""
    with transaction.atomic():
        leftovers = [model.__name__ for model in sandbox_models() if model._base_manager.exists()]
        assert not leftovers, f"the sandbox tables must be empty before the session's seed: {leftovers}"
        seed()
        rows = {model: list(model._base_manager.order_by("pk")) for model in sandbox_models()}
        transaction.set_rollback(True)
    return SeededSandbox({model: instances for model, instances in rows.items() if instances})


@pytest.fixture(scope="session")
def seeded_sandbox(django_db_setup, django_db_blocker) -> SeededSandbox:
    with django_db_blocker.unblock():
        return seed_and_keep()
