"""`{% duplicate_reconciliation invoice timeline as dup %}`: what the portal knows of a number the authority
already had (invoicing.duplicates), from the timeline's latest submission: no query unless it is a duplicate."""

from django import template

from invoicing import duplicates

register = template.Library()


@register.simple_tag
def duplicate_reconciliation(invoice, timeline=None):
    if timeline is None:
        return duplicates.duplicate_reconciliation(invoice)
    if timeline.latest is None:
        return None
    return duplicates.duplicate_reconciliation(invoice, timeline.latest.submission)
