"""Comments on an invoice: its thread, writing, editing and deleting them, and the people one can mention
(the routes and their handling are clearfacts_app.comment_pages, shared with the documents' comments)."""

from django.shortcuts import get_object_or_404

from clearfacts_app import comment_pages


def _invoice(request, invoice_pk):
    return get_object_or_404(request.administration.invoices, pk=invoice_pk)


def routes() -> list:
    """Called by the URLconf once its path converters are registered."""
    return comment_pages.comment_routes(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/comments/", _invoice, kind="invoice"
    )
