"""Country names in the reader's language, from the ISO code Clearfacts sends beside its English name."""

from functools import lru_cache

from django import template
from django.utils.translation import get_language
from django_countries import countries

register = template.Library()


@register.filter
def country_name(code, fallback=""):
    """`{{ address.country.iso2|country_name:address.country.name }}`: "België" for BE in Dutch."""
    return _name((code or "").upper(), get_language()) or fallback


@lru_cache(maxsize=4096)
def _name(code: str, language: str | None) -> str:
    # django-countries looks the code up and translates the name on each call; a list calls this on every row.
    return countries.name(code)
