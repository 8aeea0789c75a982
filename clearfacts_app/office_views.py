"""The user's accounting office: its details and its associates (employees) in Clearfacts."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Membership
from accounts.roles import associates_only, has_role, requires_role
from clearfacts_app import client, selectors, services
from clearfacts_app.forms import AssociateForm
from clearfacts_app.pages import has_scope, read_clearfacts
from portal.redirects import grant_access_url

office_admin_only = requires_role(
    Membership.Role.ADMIN, refusal=gettext_lazy("Only office administrators can add or change associates.")
)


@require_GET
@associates_only
def office(request):
    accountant, problem = read_clearfacts(
        request, "accountant", lambda refresh: selectors.accountant(user=request.user, refresh=refresh)
    )
    return render(request, "clearfacts_app/office.html", {"accountant": accountant, "problem": problem})


@require_GET
@associates_only
def associate_list(request):
    associates, problem = read_clearfacts(
        request, "associate_read", lambda refresh: selectors.associates(user=request.user, refresh=refresh)
    )
    is_office_admin = has_role(request.user, Membership.Role.ADMIN)
    return render(
        request,
        "clearfacts_app/associate_list.html",
        {
            "associates": associates,
            "problem": problem,
            "can_change": is_office_admin and has_scope(request, "associate_actions"),
            "grant_url": grant_access_url("associate_actions", next_url=request.get_full_path())
            if is_office_admin and not has_scope(request, "associate_actions")
            else None,
        },
    )


def _missing_associate_actions(request) -> dict:
    """The page's advice when the sign-in does not allow changing associates, with a button that asks for it."""
    return {
        "problem": _(
            "Your Clearfacts sign-in does not yet allow the portal to add and change associates (scope "
            "%(scope)s). Give the portal this access in Clearfacts; you will come back to this page."
        )
        % {"scope": "associate_actions"},
        "grant_url": grant_access_url("associate_actions", next_url=request.get_full_path()),
    }


def _groups_or_problem(request):
    """(groups, None) or (None, the page's context explaining why the form cannot be shown)."""
    if not has_scope(request, "associate_actions"):
        return None, _missing_associate_actions(request)
    groups, problem = read_clearfacts(
        request, "associate_read", lambda refresh: selectors.associate_groups(user=request.user, refresh=refresh)
    )
    return groups, {"problem": problem} if problem else None


@never_cache
@require_http_methods(["GET", "POST"])
@associates_only
@office_admin_only
def associate_add(request):
    groups, problem = _groups_or_problem(request)
    if problem:
        return render(request, "clearfacts_app/associate_form.html", problem | {"adding": True})
    form = AssociateForm(request.POST or None, groups=groups)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            added = services.associate_add(
                user=request.user,
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                associate_type=data["associate_type"],
                language=data["language"],
                group_ids=data["groups"],
                active=data["active"],
            )
        except (client.Refused, client.Unavailable, client.NotFound, client.MissingScope) as error:
            form.add_change_failure(error)
        else:
            # The generated password is shown in this one answer and kept nowhere.
            return render(request, "clearfacts_app/associate_added.html", {"associate": added})
    return render(request, "clearfacts_app/associate_form.html", {"form": form, "adding": True})


@require_http_methods(["GET", "POST"])
@associates_only
@office_admin_only
def associate_edit(request, associate_ref):
    groups, problem = _groups_or_problem(request)
    associates = None
    if not problem:
        associates, message = read_clearfacts(
            request, "associate_read", lambda refresh: selectors.associates(user=request.user, refresh=refresh)
        )
        problem = {"problem": message} if message else None
    if problem:
        return render(request, "clearfacts_app/associate_form.html", problem)
    associate = next((a for a in associates if a["id"] == str(associate_ref)), None)
    if associate is None:
        raise Http404(_("No associate of your office has this id."))
    initial = {
        "first_name": associate["firstName"],
        "last_name": associate["lastName"],
        "email": associate["email"],
        "associate_type": associate["type"] or "USER",
        "language": associate["language"],
        "groups": [group["id"] for group in associate["associateGroups"]],
        "active": associate["active"],
    }
    form = AssociateForm(request.POST or None, initial=initial, groups=groups)
    if request.method == "POST" and form.is_valid():
        try:
            services.associate_edit(user=request.user, associate_id=str(associate_ref), changes=form.as_clearfacts())
        except client.NotFound as error:
            raise Http404(_("No associate of your office has this id.")) from error
        except (client.Refused, client.Unavailable, client.MissingScope) as error:
            form.add_change_failure(error)
        else:
            messages.success(request, _("Clearfacts saved the changes to %(name)s.") % {"name": associate["email"]})
            return redirect("clearfacts_app:associate-list")
    return render(request, "clearfacts_app/associate_form.html", {"form": form, "associate": associate})
