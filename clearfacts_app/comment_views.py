"""Comments on a document: its thread, writing, editing and deleting them, and the people one can mention
(the routes and their handling are clearfacts_app.comment_pages, shared with the invoices' comments)."""

from django.shortcuts import get_object_or_404

from clearfacts_app import comment_pages


def _document(request, document_pk):
    return get_object_or_404(request.administration.documents, pk=document_pk)


def routes() -> list:
    """Called by the URLconf once its path converters are registered."""
    return comment_pages.comment_routes(
        "administrations/<company:company_number>/documents/<int:document_pk>/comments/", _document, kind="document"
    )
