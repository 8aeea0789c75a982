"""People of an administration and their roles: who has access, and who may change whose role.

An office administrator changes anyone's role except another office administrator's (they manage
every administration, whatever the row says). A manager who is a client user (the company's owner)
changes the roles of the company's other client users on that administration: not associates, not
their own. Nobody else changes roles. The one table of what each role may do is clearfacts_app.roles.
"""

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Membership
from clearfacts_app.activity import activity_record
from clearfacts_app.models import Administration, AdministrationAccess
from clearfacts_app.roles import Role, forget_roles, is_office_admin, role_on


def shows_email(viewer, person) -> bool:
    """Whether `viewer` is shown `person`'s e-mail address. Client users are not (Clearfacts does not
    give them the office's associates): they see the addresses of client users and their own only.
    Associates see everyone's."""
    if not _is_client(viewer) or person.pk == viewer.pk:
        return True
    return _is_client(person)


def person_name(viewer, person) -> str:
    """`person`'s name as `viewer` is shown it: the name, else the e-mail address if `viewer` may see
    it, else "An associate of the office" (a client user is not shown an associate's address)."""
    name = (person.get_full_name() or "").strip()
    if name:
        return name
    if shows_email(viewer, person):
        return person.email or person.get_username()
    return _("An associate of the office")


class RoleChangeRefused(Exception):
    """The actor may not change this person's role; the message says why, to the actor."""


def people(administration: Administration) -> QuerySet[AdministrationAccess]:
    """Everyone with access to `administration`, by name, with their membership (one query)."""
    return administration.accesses.select_related("user__membership").order_by(
        "user__first_name", "user__last_name", "user__email", "pk"
    )


def shown_role(access: AdministrationAccess) -> str:
    """The role the person has in effect: an office administrator manages whatever the row says."""
    return Role.MANAGER if is_office_admin(access.user) else access.role


def _is_client(user) -> bool:
    membership = getattr(user, "membership", None)
    return membership is not None and membership.kind == Membership.Kind.CLIENT


def role_change_refusal(*, actor, access: AdministrationAccess) -> str | None:
    """Why `actor` may not change the role of `access`'s person (None when they may)."""
    target = access.user
    if is_office_admin(target):
        return _("Office administrators manage every administration: their role cannot be changed here.")
    if is_office_admin(actor) and actor.membership.office_id == access.administration.office_id:
        return None
    if target.pk == actor.pk:
        return _("You cannot change your own role.")
    if _is_client(actor) and role_on(actor, access.administration) == Role.MANAGER:
        if _is_client(target):
            return None
        return _("Only office administrators change the roles of the office's associates.")
    return _("Only office administrators and the company's owner change roles on this administration.")


def access_role_set(*, access: AdministrationAccess, actor, role: str) -> AdministrationAccess:
    """Gives `access`'s person `role` on its administration and records it (Activity
    "access.role_changed", with {"role": [old, new]}). Raises RoleChangeRefused when `actor` may not."""
    if role not in Role.values:
        raise ValueError(f"no such role: {role!r}")
    refusal = role_change_refusal(actor=actor, access=access)
    if refusal:
        raise RoleChangeRefused(refusal)
    with transaction.atomic():
        locked = AdministrationAccess.objects.select_for_update().select_related("user").get(pk=access.pk)
        old = locked.role
        if old != role:
            locked.role = role
            locked.save(update_fields=["role"])
            activity_record(
                administration=access.administration,
                actor=actor,
                action="access.role_changed",
                data={"user": locked.user_id, "name": locked.user.get_full_name() or locked.user.email},
                changes={"role": [old, role]},
            )
    access.role = role
    # Roles cached on the user objects of this request would still answer with the old one.
    forget_roles(access.user)
    forget_roles(actor)
    return access
