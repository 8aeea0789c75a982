"""The stale-status watchdog's periodic task (invoicing/watchdog.py), run by beat every minute.

The service is imported inside the body, so that the import goes one way. Registered with the
worker by InvoicingConfig.ready (autodiscovery finds only `tasks` modules).
"""

from celery import shared_task


@shared_task
def watch_stale_statuses() -> int:
    """Raises the alerts of the invoices stuck in a status past their limit; returns how many."""
    from invoicing import watchdog

    return watchdog.stale_statuses_alert()
