"""The administration's invoicing profile: finding it, saying what it still lacks for Clearvo, saving it.

CONTRACT (filled in by the profile work; the invoice editor calls these):
- `profile_for(administration)` → the administration's InvoicingProfile, or an unsaved one filled in
  from what the Clearfacts mirror knows (name, company number, address).
- `profile_problems(profile)` → Problems (invoicing.rules.Problem) on InvoicingProfile fields for
  what Clearvo requires and the profile lacks or has wrong; empty: drafts may be created.

The supplier's VAT identity is the Belgian company number (taxIdCountry BE). Clearfacts has no city
for an administration, only one address line ("Molenstraat 7, 9300 Aalst"): the profile takes street,
postal code and city from it when it splits cleanly, and otherwise leaves them to the user.
"""

import re

from django.db import transaction
from django.utils.translation import gettext as _
from django_countries import countries

from clearfacts_app.activity import activity_record, changes_between
from invoicing import identifiers
from invoicing.models import InvoicingProfile
from invoicing.numbers import number_suggest, pattern_problem
from invoicing.rules import Problem

SUPPLIER_TAX_COUNTRY = "BE"
# "Street 12, 9000 City" (a postal code of 4 or 5 digits, optionally "B-" before it), nothing else.
ONE_LINE_ADDRESS = re.compile(
    r"^\s*(?P<street>[^,]*\w[^,]*?)\s*,\s*(?:[A-Z]{1,2}-)?(?P<postal_code>\d{4,5})\s+(?P<city>[^,\d][^,]*?)\s*$"
)

# What a person edits on the profile page; the number sequence is advanced by numbers.py only.
EDITABLE_FIELDS = [
    "legal_name",
    "tax_id",
    "street",
    "postal_code",
    "city",
    "country",
    "iban",
    "bic",
    "default_currency",
    "payment_terms_days",
    "number_pattern",
    "file_in_books",
    "four_eyes",
]


def address_split(street_address: str) -> dict | None:
    """{"street", "postal_code", "city"} of a one-line address, or None when it does not split cleanly."""
    match = ONE_LINE_ADDRESS.match(street_address or "")
    return match.groupdict() if match else None


def profile_for(administration) -> InvoicingProfile:
    try:
        return administration.invoicing_profile
    except InvoicingProfile.DoesNotExist:
        pass
    country = (administration.country_iso2 or "").upper()
    return InvoicingProfile(
        administration=administration,
        legal_name=administration.name,
        tax_id=administration.company_number,
        tax_id_country=SUPPLIER_TAX_COUNTRY,
        country=country if country in countries else SUPPLIER_TAX_COUNTRY,
        **(address_split(administration.street_address) or {}),
    )


def profile_problems(profile: InvoicingProfile) -> list[Problem]:
    problems = []
    if profile.pk is None:
        problems.append(
            Problem("__all__", _("The profile has not been saved yet: check what the portal filled in, then save it."))
        )
    if not profile.legal_name.strip():
        problems.append(Problem("legal_name", _("Enter the company's legal name.")))
    if not profile.tax_id:
        problems.append(Problem("tax_id", _("Enter the Belgian company number.")))
    elif problem := identifiers.tax_id_problem(profile.tax_id, SUPPLIER_TAX_COUNTRY):
        problems.append(Problem("tax_id", problem))
    elif profile.tax_id_country != SUPPLIER_TAX_COUNTRY:
        problems.append(Problem("tax_id", _("The VAT identity must be the Belgian company number.")))
    for field, message in (
        ("street", _("Enter the street and number.")),
        ("postal_code", _("Enter the postal code.")),
        ("city", _("Enter the city: Clearvo requires it.")),
    ):
        if not getattr(profile, field).strip():
            problems.append(Problem(field, message))
    if profile.country not in countries:
        problems.append(Problem("country", _("Choose the country of the address.")))
    if problem := identifiers.iban_problem(profile.iban):
        problems.append(Problem("iban", problem))
    if problem := identifiers.bic_problem(profile.bic):
        problems.append(Problem("bic", problem))
    if problem := pattern_problem(profile.number_pattern):
        problems.append(Problem("number_pattern", problem))
    return problems


def number_example(profile: InvoicingProfile, pattern: str) -> str:
    """The number the next invoice would get if the profile had `pattern`; "" when it cannot number."""
    if not pattern or pattern_problem(pattern):
        return ""
    trial = InvoicingProfile(
        administration=profile.administration,
        number_pattern=pattern,
        next_sequence=profile.next_sequence,
        sequence_year=profile.sequence_year,
    )
    return number_suggest(trial)


def profile_notes(profile: InvoicingProfile) -> list[Problem]:
    """What is recommended but not required: drafts may be created without it."""
    notes = []
    if not profile.iban:
        notes.append(Problem("iban", _("Add an IBAN so that buyers see where to pay.")))
    administration = profile.administration
    if profile.tax_id and profile.tax_id != administration.company_number:
        notes.append(
            Problem(
                "tax_id",
                _("This is not the company number Clearfacts has for %(name)s (%(number)s).")
                % {"name": administration.name, "number": administration.formatted_company_number},
            )
        )
    return notes


def profile_save(*, profile: InvoicingProfile, actor) -> InvoicingProfile:
    """Saves the fields a person edits (never the number sequence, which numbers.py advances under a
    lock), with who did it and an activity row naming the fields that changed."""
    with transaction.atomic():
        existing = InvoicingProfile.objects.select_for_update().filter(administration=profile.administration).first()
        profile.tax_id_country = SUPPLIER_TAX_COUNTRY
        profile.updated_by = actor
        if existing is None:
            changed = [field for field in EDITABLE_FIELDS if getattr(profile, field) not in ("", None)]
            profile.save(force_insert=True)
        else:
            changed = [field for field in EDITABLE_FIELDS if getattr(profile, field) != getattr(existing, field)]
            profile.pk = existing.pk
            profile.save(update_fields=[*EDITABLE_FIELDS, "tax_id_country", "updated_by", "updated_at"])
        activity_record(
            administration=profile.administration,
            actor=actor,
            action="invoicing_profile.changed",
            data={"profile": profile.pk, "fields": changed, "created": existing is None},
            changes=changes_between(existing or {}, profile, changed),
        )
    return profile
