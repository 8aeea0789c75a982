"""The People tab of an administration: who has access, and (for those allowed) their roles.

Everyone who sees the administration reads the list; changing a role is one row at a time (POST,
HTMX swaps the row; without JavaScript the page comes back). Who may change whom is
clearfacts_app.people's to say.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from clearfacts_app import people
from clearfacts_app.roles import Action, Role, is_office_admin, requires
from clearfacts_app.tabs import administration_tab
from portal.htmx import wants_partial

TEMPLATE = "clearfacts_app/people.html"
REFUSAL = gettext_lazy("Only office administrators and the company's owner change roles on this administration.")


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)


def _rows(request, accesses) -> list[dict]:
    return [_row(request, access) for access in accesses]


def _row(request, access, form=None, error="") -> dict:
    role = people.shown_role(access)
    if form is not None and form.errors and not error:
        error = _("Choose one of the roles.")
    return {
        "access": access,
        "role": role,
        "role_label": Role(role).label,
        # A client user is shown the office's associates by name, never by e-mail address.
        "name": people.person_name(request.user, access.user),
        "email": access.user.email if people.shows_email(request.user, access.user) else "",
        "office_admin": is_office_admin(access.user),
        "changeable": people.role_change_refusal(actor=request.user, access=access) is None,
        "form": form,
        "error": error,
    }


@require_GET
def people_list(request, company_number):
    rows = _rows(request, people.people(request.administration))
    return administration_tab(request, "people", rows=rows, roles=Role.choices)


def _person_role(request, company_number, administrationaccess_pk):
    # Another administration's person is a 404 before anything else (then 403 below MANAGE).
    access = get_object_or_404(people.people(request.administration), pk=administrationaccess_pk)
    return _role_change(request, company_number, access)


@requires(Action.MANAGE, refusal=REFUSAL)
def _role_change(request, company_number, access):
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _answer(request, access, form, status=400)
    try:
        people.access_role_set(access=access, actor=request.user, role=form.cleaned_data["role"])
    except people.RoleChangeRefused as refusal:
        if wants_partial(request):  # htmx swaps no 4xx answer: the row says why instead
            return _answer(request, access, None, status=200, error=str(refusal))
        raise PermissionDenied(str(refusal)) from refusal
    name = people.person_name(request.user, access.user)
    done = _("%(name)s: %(role)s.") % {"name": name, "role": Role(access.role).label}
    if wants_partial(request):
        return _answer(request, access, None, status=200, done=done)
    messages.success(request, done)
    return redirect("clearfacts_app:people", company_number=company_number)


# Declares the action it needs (the role walk reads it), checked once the person was found.
_person_role.required_action = Action.MANAGE
person_role = require_POST(_person_role)


def _answer(request, access, form, *, status, done="", error=""):
    """The person's row (HTMX, always 200: htmx swaps no 4xx answer, so the row carries the error) or
    the page again (a form with an error, without JavaScript, with `status`)."""
    if wants_partial(request):
        context = {
            "administration": request.administration,
            "row": _row(request, access, form, error),
            "roles": Role.choices,
            "done": done,
        }
        response = render(request, f"{TEMPLATE}#person_row", context, status=200)
    else:
        rows = [
            _row(request, each, form if each.pk == access.pk else None)
            for each in people.people(request.administration)
        ]
        response = administration_tab(request, "people", rows=rows, roles=Role.choices)
        response.status_code = status
    patch_vary_headers(response, ["HX-Request"])
    return response
