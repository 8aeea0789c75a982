"""Country names in the reader's language, from the ISO code Clearfacts sends beside its English name."""

from django import template
from django_countries import countries

register = template.Library()


@register.filter
def country_name(code, fallback=""):
    """`{{ address.country.iso2|country_name:address.country.name }}`: "België" for BE in Dutch."""
    return countries.name((code or "").upper()) or fallback
