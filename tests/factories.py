"""Test data: offices, administrations and the people of the style guide (owner, member, viewer, outsider).

Each exists in the sandbox too, as a Sync with Clearfacts would have found them: an office is a Clearfacts
accountant, an administration its company, and a person a Clearfacts associate (type ADMIN for an office
administrator) who sees those companies and holds a sandbox token, stored as the sign-in stores it. So
with the live `portal` they can use Clearfacts, and sign in through the sandbox with DEMO_PASSWORD.
"""

import itertools
from datetime import date
from decimal import Decimal

from authlib.common.security import generate_token
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts.credentials import credential_store
from accounts.models import Membership, Office, User
from clearfacts_app.models import Administration, AdministrationAccess, Document
from clearfacts_app.roles import default_role
from invoicing.models import Invoice, InvoiceLine
from sandbox.clearfacts import models as clearfacts
from sandbox.clearfacts import oauth
from sandbox.clearfacts.seed import DEMO_PASSWORD, _portal_client

_numbers = itertools.count(1000001)


def company_number() -> str:
    """A fresh, valid Belgian company number (check digits = 97 - base mod 97)."""
    base = next(_numbers) * 10 + 4  # 8 digits, starting with 1
    return f"{base:08d}{97 - base % 97:02d}"


def make_office(name="Fiduciaire Dupont", **fields) -> Office:
    office = Office.objects.create(name=name, company_number=fields.pop("company_number", company_number()), **fields)
    _accountant(office)
    return office


def _accountant(office: Office | None) -> clearfacts.Accountant:
    if office is None:  # someone the portal has not synced yet: an office of their own in Clearfacts
        return clearfacts.Accountant.objects.create(name="Boekhouding Nieuw", company_number=company_number())
    accountant, _ = clearfacts.Accountant.objects.get_or_create(
        company_number=office.company_number,
        defaults={"name": office.name, "email": office.email, "street_address": office.street_address},
    )
    return accountant


def make_administration(office, name="Bakkerij Janssens BV", **fields) -> Administration:
    administration = Administration.objects.create(
        office=office,
        name=name,
        company_number=fields.pop("company_number", company_number()),
        **fields,
    )
    clearfacts.Company.objects.get_or_create(
        company_number=administration.company_number,
        defaults={"accountant": _accountant(office), "name": name, "street_address": administration.street_address},
    )
    return administration


def make_user(
    office,
    *,
    role=Membership.Role.MEMBER,
    administrations=(),
    name="An Peeters",
    administration_role=None,
    kind=Membership.Kind.ASSOCIATE,
    **fields,
) -> User:
    """A Clearfacts user of `office` who sees `administrations`, with `administration_role` on each
    (by default the role a new grant gets for their office role: clearfacts_app.roles.default_role).
    A client user (`kind`) is a company's own user in the sandbox too (no associates for them)."""
    username = fields.pop("username", f"user-{next(_numbers)}")
    email = fields.pop("email", f"{username}@example.be")
    person = _clearfacts_person(office, role, administrations, name, email, kind)
    user = User.objects.create_user(
        username=username,
        email=email,
        display_name=name,
        oidc_issuer=settings.CLEARFACTS_OIDC_ISSUER,
        oidc_subject=str(person.subject),
        **fields,
    )
    user.set_unusable_password()
    user.save()
    # Signed in with Clearfacts: the portal holds their sandbox token.
    token = issue_token(person)
    credential_store(user=user, token_response=token, requested_scopes=token["scope"])
    membership = None
    if office is not None:
        membership = Membership.objects.create(user=user, office=office, role=role, kind=kind)
    for administration in administrations:
        AdministrationAccess.objects.create(
            user=user, administration=administration, role=administration_role or default_role(membership)
        )
    return user


def _clearfacts_person(office, role, administrations, name, email, kind=Membership.Kind.ASSOCIATE):
    first_name, _, last_name = name.partition(" ")
    associate_type = clearfacts.ClearfactsUser.AssociateType
    person = clearfacts.ClearfactsUser(
        accountant=_accountant(office),
        kind=clearfacts.ClearfactsUser.Kind.CLIENT
        if kind == Membership.Kind.CLIENT
        else clearfacts.ClearfactsUser.Kind.ASSOCIATE,
        associate_type=associate_type.ADMIN if role == Membership.Role.ADMIN else associate_type.USER,
        username=email,
        email=email,
        first_name=first_name,
        last_name=last_name,
    )
    person.set_password(DEMO_PASSWORD)
    person.save()
    person.companies.set(
        clearfacts.Company.objects.filter(company_number__in=[a.company_number for a in administrations])
    )
    return person


def issue_token(person: clearfacts.ClearfactsUser, scope: str | None = None) -> dict:
    """The sandbox's token answer to the portal for `person`, kept by the sandbox as its token endpoint keeps it.

    Lifetimes and the refresh token follow the token endpoint (sandbox/clearfacts/oauth.py). The
    access token is the 80-character token that the endpoint's JWT carries, which Clearfacts accepts
    as a Bearer token too and the portal treats as opaque: signing JWTs is the sign-in tests' part.
    """
    client = clearfacts.OAuthClient.objects.filter(client_id=settings.OIDC_RP_CLIENT_ID).first() or _portal_client()
    scope = client.get_allowed_scope(scope or settings.OIDC_RP_SCOPES)
    offline = "offline_access" in scope.split()
    lifetime = oauth.SHORT_LIVED if offline or settings.SANDBOX_OIDC_STRICT_OFFLINE_ACCESS else oauth.LONG_LIVED
    access = generate_token(oauth.TOKEN_LENGTH)
    refresh = generate_token(oauth.TOKEN_LENGTH) if offline else None
    now = timezone.now()
    clearfacts.AccessToken.objects.create(
        kind=clearfacts.AccessToken.Kind.OIDC,
        client=client,
        user=person,
        token_hash=clearfacts.token_hash(access),
        token_prefix=access[:6],
        refresh_token_hash=clearfacts.token_hash(refresh) if refresh else None,
        scope=scope,
        issued_at=now,
        expires_at=now + lifetime,
        refresh_expires_at=now + oauth.REFRESH_LIFETIME if refresh else None,
    )
    answer = {
        "token_type": "Bearer",
        "access_token": access,
        "expires_in": int(lifetime.total_seconds()),
        "scope": scope,
    }
    return answer | ({"refresh_token": refresh} if refresh else {})


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
    document = Document.objects.create(
        administration=administration, uploaded_by=uploader, filename=filename, **(defaults | fields)
    )
    # As clearfacts_app.documents.document_create keeps it.
    Administration.objects.filter(pk=administration.pk).update(document_count=F("document_count") + 1)
    return document


def make_invoice(administration, author, *, lines=((Decimal("2"), Decimal("100.00"), "S"),), **fields) -> Invoice:
    """An invoice to Italy, straight into the database (no rules checked), with `lines` given as
    (quantity, unit price, tax code); the fields a test names replace the defaults."""
    defaults = {
        "invoice_number": f"F-{next(_numbers)}",
        "issue_date": date(2026, 11, 2),
        "country": "IT",
        "buyer_name": "Rossi Forniture Srl",
        "buyer_tax_id": "01234567897",
        "buyer_tax_id_country": "IT",
        "buyer_street": "Via Roma 1",
        "buyer_city": "Milano",
        "buyer_postal_code": "20121",
        "buyer_country": "IT",
    }
    invoice = Invoice.objects.create(administration=administration, author=author, **(defaults | fields))
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice, position=n, description=f"Line {n}", quantity=quantity, unit_price=price, tax_code=code
        )
        for n, (quantity, price, code) in enumerate(lines, 1)
    )
    return invoice
