"""Who may do what: the one table of roles and actions, and the checks every layer asks.

Two levels:
- In the office (`Membership.role`): an office administrator (a Clearfacts ADMIN associate) runs
  the office pages (associates, the Clearvo account, the app info) and manages everyone's roles.
  `Membership.kind` says whether the person is an associate of the office or a client user of a
  company; a client user sees no office pages.
- On each administration a person can see (`AdministrationAccess.role`): viewer < drafter <
  approver < manager. An office administrator is a manager on every administration they see,
  whatever the row says. A manager who is a client user is the company's owner: they set the
  roles of the company's own users on that administration.

`ACTIONS` maps each action to the lowest role that may do it; views (`requires`), forms,
HTMX partials (`may` in the template context), bulk actions (`can` per row) and the tasks they
start (`can` again when the task runs) all ask this module, so a change here changes them all.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership


class Role(models.TextChoices):
    """A person's role on one administration, lowest first."""

    VIEWER = "viewer", _("Reads")
    DRAFTER = "drafter", _("Drafts and uploads")
    APPROVER = "approver", _("Approves and submits")
    MANAGER = "manager", _("Manages settings")


RANKS = [Role.VIEWER, Role.DRAFTER, Role.APPROVER, Role.MANAGER]


class Action(models.TextChoices):
    READ = "read", _("See the administration, its documents and invoices")
    COMMENT = "comment", _("Comment and mention colleagues")
    UPLOAD = "upload", _("Upload documents")
    DRAFT = "draft", _("Draft invoices and keep the address book")
    REQUEST_REVIEW = "request_review", _("Send invoices for review")
    APPROVE = "approve", _("Approve invoices of colleagues")
    SUBMIT = "submit", _("Submit invoices for clearance and file them in the books")
    MANAGE = "manage", _("Change the invoicing profile, four-eyes approval and people's roles")


# The one table: the lowest role that may do each action.
ACTIONS: dict[str, str] = {
    Action.READ: Role.VIEWER,
    Action.COMMENT: Role.DRAFTER,
    Action.UPLOAD: Role.DRAFTER,
    Action.DRAFT: Role.DRAFTER,
    Action.REQUEST_REVIEW: Role.DRAFTER,
    Action.APPROVE: Role.APPROVER,
    Action.SUBMIT: Role.APPROVER,
    Action.MANAGE: Role.MANAGER,
}


def outranks(role: str | None, needed: str) -> bool:
    """Whether `role` is `needed` or a higher one (None: no role at all)."""
    return role is not None and RANKS.index(role) >= RANKS.index(needed)


def role_allows(role: str | None, action: str) -> bool:
    return outranks(role, ACTIONS[action])


def default_role(membership) -> str:
    """The role a new grant starts with: office administrators manage, office viewers read,
    everyone else (associates and client users) may approve and submit, as before roles existed."""
    if membership is None:
        return Role.VIEWER
    return {Membership.Role.ADMIN: Role.MANAGER, Membership.Role.VIEWER: Role.VIEWER}.get(
        membership.role, Role.APPROVER
    )


def is_office_admin(user) -> bool:
    """An office administrator who is an associate (a client user never runs the office)."""
    membership = getattr(user, "membership", None)
    return membership is not None and membership.is_office_admin and membership.is_associate


def sees_office_pages(user) -> bool:
    """Associates see the office pages (read-only unless office administrator); client users do not."""
    membership = getattr(user, "membership", None)
    return membership is not None and membership.is_associate


def role_on(user, administration) -> str | None:
    """`user`'s role on `administration`, or None when they cannot see it.

    Cached on the user object per administration, so a page and its partials ask the database once.
    """
    if administration is None or not getattr(user, "is_authenticated", False):
        return None
    cache = _roles_cache(user)
    if administration.pk not in cache:
        from clearfacts_app.models import AdministrationAccess  # the models import Role from here

        membership = getattr(user, "membership", None)
        if membership is None or membership.office_id != administration.office_id:
            role = None
        else:
            role = _effective(
                user,
                AdministrationAccess.objects.filter(user=user, administration=administration)
                .values_list("role", flat=True)
                .first(),
            )
        cache[administration.pk] = role
    return cache[administration.pk]


def _effective(user, access_role: str | None) -> str | None:
    """The role an access row gives `user`: an office administrator manages every administration they see."""
    if access_role is not None and is_office_admin(user):
        return Role.MANAGER
    return access_role


def role_known(user, administration, access_role: str | None) -> None:
    """Records the role of `user`'s access row on `administration`, read together with it within
    the user's own office (the tenancy middleware), so that `role_on` need not ask again."""
    _roles_cache(user)[administration.pk] = _effective(user, access_role)


def _roles_cache(user) -> dict[int, str | None]:
    """{administration id: role} already worked out for `user` in this request (dropped by `forget_roles`)."""
    return user.__dict__.setdefault("_roles_on", {})


def roles_on(user, administration_ids) -> dict[int, str]:
    """{administration id: role} for many administrations in one query (lists and bulk actions);
    the answers join `role_on`'s cache, so the page's `may` asks nothing more."""
    from clearfacts_app.models import AdministrationAccess

    membership = getattr(user, "membership", None)
    ids = set(administration_ids)
    if membership is None or not ids:
        return {}
    rows = AdministrationAccess.objects.filter(
        user=user, administration__in=ids, administration__office_id=membership.office_id
    ).values_list("administration_id", "role")
    roles = {pk: _effective(user, role) for pk, role in rows}
    _roles_cache(user).update({pk: roles.get(pk) for pk in ids if isinstance(pk, int)})
    return roles


def can(user, action: str, administration) -> bool:
    """Whether `user` may do `action` on `administration` (False when they cannot see it)."""
    return role_allows(role_on(user, administration), action)


def forget_roles(user) -> None:
    """Drops the roles cached on `user` (after a role changed in the same request)."""
    user.__dict__.pop("_roles_on", None)


class Permissions:
    """`{% if may.submit %}` in templates: the actions the user may do on one administration."""

    def __init__(self, user, administration):
        self.user = user
        self.administration = administration

    @property
    def role(self) -> str | None:
        return role_on(self.user, self.administration)

    @property
    def office_pages(self) -> bool:
        """`{% if may.office_pages %}`: the office menu (associates, not client users)."""
        return sees_office_pages(self.user)

    @property
    def run_office(self) -> bool:
        """`{% if may.run_office %}`: office administration (associates, the Clearvo key, app info)."""
        return is_office_admin(self.user)

    def __getattr__(self, action: str) -> bool:
        if action not in ACTIONS:
            raise AttributeError(action)
        return can(self.user, action, self.administration)


def may_on(user, administration) -> Permissions:
    return Permissions(user, administration)


def requires(action: str, *, refusal):
    """The view acts on the URL's administration (`request.administration`, resolved by the
    tenancy middleware) and needs `action` there; others get 403 with `refusal` as the reason.
    A view with no administration in its URL (a list across administrations) checks each row
    with `can` instead and declares `required_action` with `checks_each_row`."""

    def decorator(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not can(request.user, action, getattr(request, "administration", None)):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        checked.required_action = action
        return checked

    return decorator


def checks_each_row(action: str):
    """Declares that the view (a bulk action across administrations) checks `action` on each row."""

    def decorator(view):
        view.required_action = action
        view.checks_each_row = True
        return view

    return decorator


class RolePermissions:
    """What one known role may do (`row.may.submit`), for the rows of a list across administrations:
    the roles come from one `roles_on` query, never one query per row."""

    def __init__(self, role: str | None):
        self.role = role

    def __getattr__(self, action: str) -> bool:
        if action not in ACTIONS:
            raise AttributeError(action)
        return role_allows(self.role, action)

    def __bool__(self) -> bool:
        return self.role is not None


def may_each(user, administration_ids) -> dict[int, RolePermissions]:
    """{administration id: what the user may do there} in one query (lists and bulk actions)."""
    ids = set(administration_ids)
    roles = roles_on(user, ids)
    return {pk: RolePermissions(roles.get(pk)) for pk in ids}
