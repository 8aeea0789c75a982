"""Dates that arrive as ISO text (Clearfacts' GraphQL answers), made dates for the `date` filter."""

from django import template
from django.utils.dateparse import parse_date, parse_datetime

register = template.Library()


@register.filter
def as_date(value):
    """`{{ remote.date|as_date|date:"SHORT_DATE_FORMAT" }}`: the user's format, never the ISO text."""
    if not isinstance(value, str):
        return value
    try:
        return parse_date(value) or parse_datetime(value) or ""
    except ValueError:
        return ""
