"""`{% duplicate_reconciliation invoice as dup %}`: what the portal knows of a number the authority already had."""

from django import template

from invoicing import duplicates

register = template.Library()


@register.simple_tag
def duplicate_reconciliation(invoice):
    return duplicates.duplicate_reconciliation(invoice)
