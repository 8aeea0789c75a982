"""Test data: offices, administrations and the people of the style guide (owner, member, viewer, outsider)."""

import itertools

from accounts.models import ClearfactsCredential, Membership, Office, User
from clearfacts_app.models import Administration, AdministrationAccess, Document

_numbers = itertools.count(1000001)


def company_number() -> str:
    """A fresh, valid Belgian company number (check digits = 97 - base mod 97)."""
    base = next(_numbers) * 10 + 4  # 8 digits, starting with 1
    return f"{base:08d}{97 - base % 97:02d}"


def make_office(name="Fiduciaire Dupont", **fields) -> Office:
    return Office.objects.create(name=name, company_number=fields.pop("company_number", company_number()), **fields)


def make_administration(office, name="Bakkerij Janssens BV", **fields) -> Administration:
    return Administration.objects.create(
        office=office,
        name=name,
        company_number=fields.pop("company_number", company_number()),
        **fields,
    )


def make_user(office, *, role=Membership.Role.MEMBER, administrations=(), name="An Peeters", **fields) -> User:
    username = fields.pop("username", f"user-{next(_numbers)}")
    user = User.objects.create_user(
        username=username,
        email=fields.pop("email", f"{username}@example.be"),
        display_name=name,
        oidc_issuer="https://login.clearfacts.test",
        oidc_subject=username,
        **fields,
    )
    user.set_unusable_password()
    user.save()
    # Signed in with Clearfacts: the portal holds a (long-lived) token for them.
    ClearfactsCredential.objects.create(user=user, access_token=f"test-token-{username}", scopes="openid")
    if office is not None:
        Membership.objects.create(user=user, office=office, role=role)
    for administration in administrations:
        AdministrationAccess.objects.create(user=user, administration=administration)
    return user


def make_document(administration, uploader, filename="factuur.pdf", **fields) -> Document:
    """A purchase invoice in the administration's inbox; its stored file is only a name unless a test saves one."""
    defaults = {
        "destination": Document.Destination.INBOX,
        "invoice_type": Document.InvoiceType.PURCHASE,
        "file": f"documents/{filename[:80]}",
        "content_type": "application/pdf",
        "size": 1000,
        "sha256": "0" * 64,
    }
    return Document.objects.create(
        administration=administration, uploaded_by=uploader, filename=filename, **(defaults | fields)
    )
