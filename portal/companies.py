"""Belgian company (enterprise) numbers, as Clearfacts uses them: ten digits, no prefix."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.be import vat


def compact_company_number(value: str) -> str:
    """'BE 0403.170.701' -> '0403170701'; leaves anything that is not a number as it was."""
    number = vat.compact(value or "")
    return number if number.isdigit() else (value or "").strip()


def validate_company_number(value: str) -> None:
    if not vat.is_valid(value or ""):
        raise ValidationError(
            _("%(value)s is not a valid Belgian company number."), code="invalid", params={"value": value}
        )


def format_company_number(value: str) -> str:
    """'0403170701' -> '0403.170.701', the way Belgian company numbers are written."""
    # Stored numbers are already compact: python-stdnum's cleaning is only for what people type.
    number = value if len(value or "") == 10 and value.isdigit() else compact_company_number(value)
    if len(number) != 10 or not number.isdigit():
        return value
    return f"{number[:4]}.{number[4:7]}.{number[7:]}"
