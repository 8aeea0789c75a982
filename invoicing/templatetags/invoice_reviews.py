"""Four-eyes approval in templates: the Review box's data, and why a draft cannot be submitted yet."""

from django import template

from invoicing import reviews

register = template.Library()


@register.simple_tag(takes_context=True)
def review_box(context, invoice):
    """`{% review_box invoice as box %}`: what the Review box shows the reader (invoicing.reviews.review_box)."""
    return reviews.review_box(invoice=invoice, user=context.get("user"))


@register.filter
def approval_missing(invoice) -> str:
    """`{% if not invoice|approval_missing %}`: why four eyes stop the draft from being submitted ("" when not)."""
    return reviews.approval_missing(invoice) or ""
