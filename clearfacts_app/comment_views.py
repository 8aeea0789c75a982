"""Comments on a document: its thread, writing, editing and deleting them, and the people one can mention
(the handling is clearfacts_app.comment_pages, shared with the invoices' comments)."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clearfacts_app import comment_pages
from clearfacts_app.roles import Action, requires

readers = requires(Action.READ, refusal=gettext_lazy("You cannot see this administration."))
commenters = requires(
    Action.COMMENT, refusal=gettext_lazy("Your role on this administration lets you read comments, not write them.")
)


def _document(request, document_pk):
    return get_object_or_404(request.administration.documents, pk=document_pk)


@require_GET
@readers
def document_comments(request, company_number, document_pk):
    return comment_pages.comment_list(request, _document(request, document_pk))


@require_POST
@commenters
def document_comment_create(request, company_number, document_pk):
    return comment_pages.comment_create(request, _document(request, document_pk))


@require_GET
@readers
def document_comment(request, company_number, document_pk, documentcomment_pk):
    return comment_pages.comment_detail(request, _document(request, document_pk), documentcomment_pk)


@require_http_methods(["GET", "POST"])
@comment_pages.author_only
@commenters
def document_comment_edit(request, company_number, document_pk, documentcomment_pk):
    return comment_pages.comment_edit(request, _document(request, document_pk), documentcomment_pk)


@require_POST
@comment_pages.author_only
@commenters
def document_comment_delete(request, company_number, document_pk, documentcomment_pk):
    return comment_pages.comment_delete(request, _document(request, document_pk), documentcomment_pk)


@require_GET
@readers
def document_mentionable(request, company_number, document_pk):
    return comment_pages.mention_suggestions(request, _document(request, document_pk))
