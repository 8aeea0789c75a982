"""Invoice numbers from the profile's pattern: suggested, then allocated safely under concurrency.

A pattern holds literal text and the tokens {YYYY} (year), {YY} (its last two digits) and {N…}
(the sequence, zero-padded to as many digits as N's). Allocation locks the profile row, so two
people saving at once get two numbers; a number already in use is skipped, and the unique
constraint on (administration, invoice_number) stays the last line of defence. A pattern with a
year starts its sequence again at 1 in a new year.
"""

import re
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from invoicing.models import InvoicingProfile

TAKEN_BATCH = 500
TOKEN = re.compile(r"\{(YYYY|YY|N+)\}")
ANY_BRACE = re.compile(r"[{}]")


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot number invoices, or None."""
    if len(pattern) > InvoicingProfile._meta.get_field("number_pattern").max_length:
        return _("The pattern is too long for an invoice number.")
    tokens = TOKEN.findall(pattern)
    if not any(token.startswith("N") for token in tokens):
        return _("Include the sequence number, for example {NNNN}.")
    if ANY_BRACE.search(TOKEN.sub("", pattern)):
        return _("Use only the tokens {YYYY}, {YY} and {NNNN}; other text in braces is not allowed.")
    if len(TOKEN.sub("", pattern)) + 4 > 50:
        return _("The pattern is too long for an invoice number.")
    return None


def format_number(pattern: str, *, sequence: int, year: int) -> str:
    def token(match):
        name = match.group(1)
        if name == "YYYY":
            return f"{year:04d}"
        if name == "YY":
            return f"{year % 100:02d}"
        return f"{sequence:0{len(name)}d}"

    return TOKEN.sub(token, pattern)


def _uses_year(pattern: str) -> bool:
    return any(token.startswith("Y") for token in TOKEN.findall(pattern))


def _start(profile: InvoicingProfile, year: int) -> int:
    if _uses_year(profile.number_pattern) and profile.sequence_year != year:
        return 1
    return profile.next_sequence


def _free_number(profile: InvoicingProfile, sequence: int, year: int) -> tuple[str, int]:
    """The first number from `sequence` on that no invoice of the administration has.

    Candidates are checked a batch at a time with one query each, so an administration with
    thousands of numbers already taken costs a few queries, not thousands.
    """
    invoices = profile.administration.invoices
    while True:
        candidates = {
            format_number(profile.number_pattern, sequence=candidate, year=year): candidate
            for candidate in range(sequence, sequence + TAKEN_BATCH)
        }
        taken = set(invoices.filter(invoice_number__in=candidates).values_list("invoice_number", flat=True))
        for number, candidate in candidates.items():
            if number not in taken:
                return number, candidate
        sequence += TAKEN_BATCH


def number_suggest(profile: InvoicingProfile, *, on: date | None = None) -> str:
    """The number the next invoice would get now (another save may take it first)."""
    year = (on or timezone.localdate()).year
    return _free_number(profile, _start(profile, year), year)[0]


def number_allocate(profile: InvoicingProfile, *, on: date | None = None) -> str:
    """Takes the next free number of the profile's sequence; call it inside the saving transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("number_allocate must run inside the transaction that saves the invoice")
    locked = InvoicingProfile.objects.select_for_update().select_related("administration").get(pk=profile.pk)
    year = (on or timezone.localdate()).year
    number, sequence = _free_number(locked, _start(locked, year), year)
    # A back-dated invoice (an earlier year) takes a number of that year without moving the current sequence.
    if locked.sequence_year is None or year >= locked.sequence_year or not _uses_year(locked.number_pattern):
        InvoicingProfile.objects.filter(pk=locked.pk).update(next_sequence=sequence + 1, sequence_year=year)
    return number
