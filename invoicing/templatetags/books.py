"""`{% book_filing invoice %}`: the invoice page's part on its way into the books."""

from django import template

from invoicing import books

register = template.Library()


@register.inclusion_tag("invoicing/book_filing.html", takes_context=True)
def book_filing(context, invoice):
    return {
        "administration": invoice.administration,
        "invoice": invoice,
        "handover": books.invoice_handover(invoice),
        "user": context.get("user"),
        "request": context.get("request"),
    }


@register.filter
def can_file_in_books(invoice) -> bool:
    """`{% if invoice|can_file_in_books %}`: the list action may be offered for it (it says why not, if so)."""
    return books.can_file(invoice)
