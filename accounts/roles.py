"""Who may do what in the office: the office role a page needs, declared on the view.

Office roles (`Membership.role`) rank viewer < member < office administrator; an office
administrator (a Clearfacts ADMIN associate) runs the office pages. What a person may do on an
administration is `clearfacts_app.roles` (the one table of roles and actions).
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Membership


def has_role(user, role: str) -> bool:
    """Whether `user` has the office role `role` or a higher one (Membership.Role)."""
    membership = getattr(user, "membership", None)
    if membership is None or not membership.has_role(role):
        return False
    # An office administrator is an associate: a client user never runs the office here.
    return role != Membership.Role.ADMIN or membership.is_associate


def requires_role(role: str, *, refusal):
    """For office pages: the view needs the office role `role` (Membership.Role); others get 403."""

    def decorator(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not has_role(request.user, role):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        checked.required_role = role
        return checked

    return decorator


def associates_only(view):
    """For office pages: a client user of a company (Membership.Kind.CLIENT) does not see them (404),
    whatever their office role; associates go on to the view's own checks."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        membership = getattr(request.user, "membership", None)
        if membership is None or not membership.is_associate:
            raise Http404(_("Office pages are for the associates of the accounting office."))
        return view(request, *args, **kwargs)

    checked.associates_only = True
    return checked


def role_not_required(view):
    """Declares that any signed-in user may use the view, whatever their role (or without one)."""
    view.required_role = None
    return view
