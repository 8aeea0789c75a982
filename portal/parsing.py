"""Reading numbers that arrive in URLs and forms."""

import re

from django.utils.formats import get_format

_DIGITS = re.compile(r"[0-9]+")


def is_number(text) -> bool:
    """Whether `text` is a plain decimal number: ASCII digits only.

    str.isdigit() also accepts "²" or "١", which int() and the database then refuse: a 500.
    """
    return isinstance(text, str) and _DIGITS.fullmatch(text) is not None


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_SPACES = re.compile(r"\s+")  # with the no-break spaces French groups digits with (U+00A0, U+202F)


def decimal_text(value: str) -> str | None:
    """A number typed the active language's way ("1.234,5" in nl, "1 234,5" in fr, "1,234.5" in en),
    written the way Decimal reads it ("1234.5"); None when it is not a number.

    Like Django's sanitize_separators, with the locale's decimal and group separators, but groups
    are always understood (USE_THOUSAND_SEPARATOR is off: the site writes plain numbers elsewhere)
    and must be of three digits, so that "12,34,5" is refused rather than read as 12345. A lone
    group separator before other than three digits is taken as the decimal point the user meant:
    "0.95" in nl and "0,95" in en are 0.95 (Django's special case for nl, #22171, both ways).
    """
    decimal_separator, group_separator = get_format("DECIMAL_SEPARATOR"), get_format("THOUSAND_SEPARATOR")
    text = value.strip()
    sign = text[:1] if text[:1] in ("+", "-") else ""
    integer, has_decimals, decimals = text[len(sign) :].strip().partition(decimal_separator)
    separators = r"\s+" if not group_separator or group_separator.isspace() else rf"\s+|{re.escape(group_separator)}"
    groups = re.split(separators, integer)
    if len(groups) > 1:
        lone_separator = len(groups) == 2 and not _SPACES.search(integer) and len(groups[1]) != 3
        if lone_separator and not has_decimals:
            integer, has_decimals, decimals = groups[0], ".", groups[1]
        elif 1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:]):
            integer = "".join(groups)
        else:
            return None
    number = f"{sign}{integer}.{decimals}" if has_decimals else f"{sign}{integer}"
    return number if _DECIMAL.fullmatch(number) else None
