"""Bringing the portal's mirror of a user's Clearfacts world up to date.

Clearfacts decides: `accountant` gives the user's office (and so their membership), the
`administrations` the user may see become AdministrationAccess grants, and access Clearfacts
withdrew is withdrawn here. Whether the user is an associate of the office or a client user of a
company (`Membership.kind`) is what the associates query says: readable and naming the user, an
associate; FORBIDDEN, a client user. Remote calls happen before, never inside, the database transaction.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Office, User
from clearfacts_app import client
from clearfacts_app.activity import activities_record, activity_record
from clearfacts_app.models import Activity, Administration, AdministrationAccess
from clearfacts_app.roles import default_role
from portal.companies import compact_company_number

logger = logging.getLogger(__name__)


@dataclass
class SyncResult:
    office: Office | None
    administrations: int = 0
    granted: int = 0
    withdrawn: int = 0


def _address(node: dict | None) -> dict:
    node = node or {}
    country = node.get("country") or {}
    return {
        "street_address": node.get("streetAddress") or "",
        "country_iso2": country.get("iso2") or "",
        "country_name": country.get("name") or "",
    }


def _role_from_clearfacts(user: User, current: Membership | None) -> tuple[str, str]:
    """(office role, kind). ADMIN associates administer the office here too; other roles are the
    portal's to set. The associates query readable and naming the user: an associate; FORBIDDEN: a
    client user of a company (who never administers the office).

    When Clearfacts does not answer the question otherwise (the scope is missing, Clearfacts is down,
    its answer is unusable, its schema lacks the assumed Associate.type) the current role and kind
    stay, and a new person starts as a client user (who sees less) until Clearfacts says otherwise;
    a refused token still raises.
    """
    role = current.role if current else None
    kind = current.kind if current else Membership.Kind.CLIENT
    try:
        associates = client.execute(user=user, operation="AssociateRoles")["associates"]
    except client.NotAuthorized:
        raise
    except client.ClearfactsError as error:
        if error.code == "FORBIDDEN":
            # Only the office's associates may read them: this is a client user of a company.
            return (Membership.Role.MEMBER if role in (None, Membership.Role.ADMIN) else role), Membership.Kind.CLIENT
        if isinstance(error, client.SchemaMismatch) and _reads_associates(user):
            # Clearfacts lacks the assumed Associate.type, yet lets them read the associates: an associate.
            kind = Membership.Kind.ASSOCIATE
        logger.info("kept the role of user %s: associates not readable (%r)", user.pk, error.code or str(error))
        return role or Membership.Role.MEMBER, kind
    kind = Membership.Kind.ASSOCIATE  # only associates may read the office's associates
    me = [a for a in associates if (a.get("email") or "").casefold() == user.email.casefold()]
    if any(a.get("type") == "ADMIN" for a in me):
        return Membership.Role.ADMIN, kind
    if role == Membership.Role.ADMIN or role is None:
        return Membership.Role.MEMBER, kind
    return role, kind


def _access_record(user: User, *, granted: list[tuple[int, int]], withdrawn: list[tuple[int, int]]) -> None:
    """One "access.granted"/"access.withdrawn" row per administration whose grant Clearfacts gave
    or took back, written at once (nothing when nothing changed); the portal acted, not a person."""
    data = {"user": user.pk, "name": user.get_full_name() or user.email}
    activities_record(
        [
            Activity(office_id=office_id, administration_id=pk, actor=None, action=action, data=data)
            for action, grants in (("access.withdrawn", withdrawn), ("access.granted", granted))
            for pk, office_id in grants
        ]
    )


def _reads_associates(user: User) -> bool:
    """Whether the documented associates query answers `user` (only associates may read it)."""
    try:
        client.execute(user=user, operation="Associates")
    except client.NotAuthorized:
        raise
    except client.ClearfactsError:
        return False
    return True


def sync_user(*, user: User) -> SyncResult:
    """Office, membership, administrations and grants of `user`, from Clearfacts.

    Raises client.ClearfactsError (for example MissingScope when the token cannot read the
    accountant, ClearfactsAnswerInvalid when an answer is unusable) without changing anything.
    """
    accountant = client.execute(user=user, operation="Accountant")["accountant"]
    administrations = client.execute(user=user, operation="Administrations")["administrations"]
    current = Membership.objects.filter(user=user).first()
    role, kind = _role_from_clearfacts(user, current)
    now = timezone.now()

    with transaction.atomic():
        office, _ = Office.objects.update_or_create(
            company_number=compact_company_number(accountant["companyNumber"]),
            defaults={"name": accountant["name"], "email": accountant.get("email") or "", "synced_at": now}
            | _address(accountant.get("address")),
        )
        membership, _ = Membership.objects.update_or_create(
            user=user, defaults={"office": office, "role": role, "kind": kind}
        )
        changes = {
            name: [getattr(current, name), getattr(membership, name)]
            for name in ("role", "kind")
            if current is not None
            and current.office_id == office.pk
            and getattr(current, name) != getattr(membership, name)
        }
        if changes:
            activity_record(
                office=office,
                administration=None,
                actor=None,
                action="membership.changed",
                data={"user": user.pk, "name": user.get_full_name() or user.email},
                changes=changes,
            )

        visible = []
        for node in administrations:
            administration, _ = Administration.objects.update_or_create(
                office=office,
                company_number=compact_company_number(node["companyNumber"]),
                defaults={
                    "name": node["name"],
                    "account_manager": node.get("accountManager") or "",
                    "emails": node.get("emails") or [],
                    "synced_at": now,
                }
                | _address(node.get("address")),
            )
            visible.append(administration.pk)
        gone = AdministrationAccess.objects.filter(user=user).exclude(administration__in=visible)
        gone_from = list(gone.values_list("administration_id", "administration__office_id"))
        withdrawn, _ = gone.delete()
        existing = set(AdministrationAccess.objects.filter(user=user).values_list("administration_id", flat=True))
        AdministrationAccess.objects.bulk_create(
            AdministrationAccess(user=user, administration_id=pk, role=default_role(membership))
            for pk in visible
            if pk not in existing
        )
        _access_record(user, granted=[(pk, office.pk) for pk in visible if pk not in existing], withdrawn=gone_from)
    result = SyncResult(office, len(visible), len(set(visible) - existing), withdrawn)
    logger.info("synced user %s: %s", user.pk, result)
    return result
