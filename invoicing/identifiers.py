"""Tax ids, IBANs and BICs: cleaned to the form Clearvo wants and checked with python-stdnum.

Clearvo wants a taxId without its country prefix and without spaces (an Italian Partita IVA is 11
digits, a Polish NIP 10). People type them as they appear on letterheads ("BE 0403.170.701",
"IT01234567890"), so the portal cleans them first and checks the result with the country's own
rules (check digits, and the office code of a Partita IVA).
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum import bic, get_cc_module, iban
from stdnum.exceptions import ValidationError

from portal.companies import format_company_number

# The prefix a VAT number carries in the EU where it differs from the ISO code.
VAT_PREFIXES = {"GR": "EL"}
# What each country calls the number, in the reader's language where it has a name in it (Belgium's
# and France's); the others are known by their national name in every language.
TAX_ID_NAMES = {
    "BE": gettext_lazy("company number"),
    "IT": "Partita IVA",
    "PL": "NIP",
    "ES": "NIF",
    "PT": "NIF",
    "FR": gettext_lazy("French VAT number"),
    "DE": "USt-IdNr.",
    "RO": "CUI / CIF",
    "HU": "adószám",
}


def _module(country: str):
    try:
        return get_cc_module(country.lower(), "vat") if country else None
    except ImportError:
        return None


def compact_tax_id(value: str, country: str) -> str:
    """`value` without spaces, separators or the country's prefix ("IT 012…" → "012…")."""
    compacted = "".join(character for character in value if character.isalnum()).upper()
    candidates = [compacted]
    for prefix in (country.upper(), VAT_PREFIXES.get(country.upper(), "")):
        if prefix and compacted.startswith(prefix) and len(compacted) > len(prefix):
            candidates.insert(0, compacted[len(prefix) :])
    module = _module(country)
    if module is None:
        return candidates[0]
    for candidate in candidates:
        try:
            # stdnum adds what its compact form needs (Belgium's leading 0 on old 9-digit numbers).
            cleaned = module.compact(candidate)
        except ValidationError:
            continue
        if module.is_valid(cleaned) or module.is_valid(country.upper() + cleaned):
            return cleaned.removeprefix(country.upper()) if cleaned[len(country) :].isdigit() else cleaned
    return candidates[0]


def tax_id_problem(value: str, country: str) -> str | None:
    """Why `value` (already compacted) is not a valid tax id of `country`, or None."""
    if not value:
        return None
    if not country:
        return _("Choose the country this number is registered in.")
    module = _module(country)
    if module is None:
        return None if value.isalnum() else _("Use letters and digits only.")
    if module.is_valid(value) or module.is_valid(country.upper() + value):
        return None
    name = TAX_ID_NAMES.get(country.upper())
    if name:
        return _("This is not a valid %(name)s: check the digits.") % {"name": name}
    return _("This is not a valid VAT number for %(country)s: check the digits.") % {"country": country.upper()}


def tax_id_shown(value: str, country: str) -> str:
    """A tax id as people read it, with its country: "BE 0652.381.715" for a Belgian company number."""
    if not value:
        return ""
    if country.upper() == "BE":
        value = format_company_number(value)
    return f"{country} {value}".strip()


def iban_shown(value: str) -> str:
    """An IBAN as people read it, in groups of four: "BE71 0961 2345 6769"."""
    return iban.format(value) if value else ""


def compact_iban(value: str) -> str:
    return iban.compact(value)


def iban_problem(value: str) -> str | None:
    if not value or iban.is_valid(value):
        return None
    return _("This is not a valid IBAN: check the country code and the digits.")


def compact_bic(value: str) -> str:
    return bic.compact(value)


def bic_problem(value: str) -> str | None:
    if not value or bic.is_valid(value):
        return None
    return _("This is not a valid BIC: 8 or 11 letters and digits, such as GEBABEBB.")
