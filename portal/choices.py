"""Labels of model choices, read from their enum."""

from functools import lru_cache

from django.db import models
from django.utils.translation import get_language


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """What get_FOO_display() gives for `value` (its label in `choices`, translated; `value` itself
    when it is not one of them). Django's own builds a dict of every label of the field, translating
    each, on every call: a list that calls it on each of its rows pays that on every row."""
    return _label(choices, value, get_language())


@lru_cache(maxsize=4096)
def _label(choices: type[models.TextChoices], value: str, language: str | None) -> str:
    # Once per label and language: the catalogues do not change while the process runs, and a
    # lazy label's translation is most of a list row's label cost.
    try:
        return str(choices(value).label)
    except ValueError:
        return value
