"""Comments on an invoice: its thread, writing, editing and deleting them, and the people one can mention
(the handling is clearfacts_app.comment_pages, shared with the documents' comments)."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clearfacts_app import comment_pages
from clearfacts_app.roles import Action, requires

readers = requires(Action.READ, refusal=gettext_lazy("You cannot see this administration."))
commenters = requires(
    Action.COMMENT, refusal=gettext_lazy("Your role on this administration lets you read comments, not write them.")
)


def _invoice(request, invoice_pk):
    return get_object_or_404(request.administration.invoices, pk=invoice_pk)


@require_GET
@readers
def invoice_comments(request, company_number, invoice_pk):
    return comment_pages.comment_list(request, _invoice(request, invoice_pk))


@require_POST
@commenters
def invoice_comment_create(request, company_number, invoice_pk):
    return comment_pages.comment_create(request, _invoice(request, invoice_pk))


@require_GET
@readers
def invoice_comment(request, company_number, invoice_pk, invoicecomment_pk):
    return comment_pages.comment_detail(request, _invoice(request, invoice_pk), invoicecomment_pk)


@require_http_methods(["GET", "POST"])
@comment_pages.author_only
@commenters
def invoice_comment_edit(request, company_number, invoice_pk, invoicecomment_pk):
    return comment_pages.comment_edit(request, _invoice(request, invoice_pk), invoicecomment_pk)


@require_POST
@comment_pages.author_only
@commenters
def invoice_comment_delete(request, company_number, invoice_pk, invoicecomment_pk):
    return comment_pages.comment_delete(request, _invoice(request, invoice_pk), invoicecomment_pk)


@require_GET
@readers
def invoice_mentionable(request, company_number, invoice_pk):
    return comment_pages.mention_suggestions(request, _invoice(request, invoice_pk))
