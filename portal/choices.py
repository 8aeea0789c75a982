"""Labels of model choices, read from their enum."""

from django.db import models


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """What get_FOO_display() gives for `value` (its label in `choices`, translated; `value` itself
    when it is not one of them). Django's own builds a dict of every label of the field, translating
    each, on every call: a list that calls it on each of its rows pays that on every row."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value
