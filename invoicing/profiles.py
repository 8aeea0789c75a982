"""The administration's invoicing profile: finding it, and saying what it still lacks for Clearvo.

CONTRACT (filled in by the profile work; the invoice editor calls these):
- `profile_for(administration)` → the administration's InvoicingProfile, or an unsaved one filled in
  from what the Clearfacts mirror knows (name, company number, address).
- `profile_problems(profile)` → Problems (invoicing.rules.Problem) on InvoicingProfile fields for
  what Clearvo requires and the profile lacks or has wrong; empty: drafts may be created.
"""

from invoicing.models import InvoicingProfile
from invoicing.rules import Problem


def profile_for(administration) -> InvoicingProfile:
    try:
        return administration.invoicing_profile
    except InvoicingProfile.DoesNotExist:
        return InvoicingProfile(administration=administration, legal_name=administration.name)


def profile_problems(profile: InvoicingProfile) -> list[Problem]:
    return []
