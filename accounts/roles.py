"""Who may do what in an office: the role a view needs, declared on the view.

Roles rank viewer < member < office administrator. `@requires_role(Membership.Role.MEMBER)`
lets through members and office administrators and answers 403 to viewers (and to anyone without
a membership); templates ask `user.membership.can_write` or `user.membership.is_office_admin`.
The view keeps the role in `required_role`, where tests/portal/test_roles.py reads it: every view
that accepts POST declares one (`role_not_required` for those any signed-in user may use).
"""

from functools import wraps

from django.core.exceptions import PermissionDenied


def has_role(user, role: str) -> bool:
    """Whether `user` has `role` or a higher one in their office."""
    membership = getattr(user, "membership", None)
    return membership is not None and membership.has_role(role)


def requires_role(role: str, *, refusal):
    """The view is for people with `role` or a higher one; others get 403 with `refusal` as the reason."""

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
