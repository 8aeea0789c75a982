"""The tasks that take accepted invoices into the books (invoicing/books.py).

The service is imported inside each body, so that the import goes one way. Registered with the
worker by InvoicingConfig.ready (autodiscovery finds only `tasks` modules).
"""

from datetime import timedelta

from celery import shared_task
from django.conf import settings


@shared_task
def prepare_book_filing(filing_id: int) -> str:
    """Builds the UBL of one filing and hands it to the document pipeline (which retries the upload)."""
    from invoicing import books

    return books.book_filing_prepare(filing_id)


@shared_task
def sweep_book_filings(stale_after_seconds: int | None = None) -> int:
    """Dispatches again the filings whose preparing task was lost; returns how many."""
    from invoicing import books

    seconds = settings.BOOK_FILING_SWEEP_AFTER_SECONDS if stale_after_seconds is None else stale_after_seconds
    return books.book_filings_sweep(stale_after=timedelta(seconds=seconds))
