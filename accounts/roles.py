"""Who may do what in the office: the office role a page needs, declared on the view.

Office roles (`Membership.role`) rank viewer < member < office administrator; an office
administrator (a Clearfacts ADMIN associate) runs the office pages. What a person may do on an
administration is `clearfacts_app.roles` (the one table of roles and actions).
"""

from functools import wraps

from django.core.exceptions import PermissionDenied


def has_role(user, role: str) -> bool:
    """Whether `user` has the office role `role` or a higher one (Membership.Role)."""
    membership = getattr(user, "membership", None)
    return membership is not None and membership.has_role(role)


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


def role_not_required(view):
    """Declares that any signed-in user may use the view, whatever their role (or without one)."""
    view.required_role = None
    return view
