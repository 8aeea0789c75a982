"""Reading numbers that arrive in URLs and forms."""

import re

_DIGITS = re.compile(r"[0-9]+")


def is_number(text) -> bool:
    """Whether `text` is a plain decimal number: ASCII digits only.

    str.isdigit() also accepts "²" or "١", which int() and the database then refuse: a 500.
    """
    return isinstance(text, str) and _DIGITS.fullmatch(text) is not None
