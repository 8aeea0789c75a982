"""The invoicing profile page: everyone who sees the administration reads it, office administrators change it."""

from functools import wraps

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_countries import countries

from accounts.models import Membership
from accounts.roles import has_role, requires_role
from invoicing import profiles
from invoicing.models import InvoicingProfile
from invoicing.settings_forms import InvoicingProfileForm, number_example
from portal.companies import format_company_number
from portal.htmx import wants_partial

TEMPLATE = "invoicing/profile.html"


def changes_need_role(role: str, *, refusal):
    """GET shows the page to everyone who sees the administration; any other method needs `role`
    (declared as the view's `required_role`, which the role walk reads)."""

    def decorator(view):
        checked = requires_role(role, refusal=refusal)(view)

        @wraps(view)
        def dispatch(request, *args, **kwargs):
            if request.method in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            return checked(request, *args, **kwargs)

        dispatch.required_role = role
        return dispatch

    return decorator


def labelled(problems, model) -> list[dict]:
    """Problems with the label of the field each concerns (None for the whole object)."""
    fields = {field.name: field for field in model._meta.get_fields() if hasattr(field, "verbose_name")}
    return [
        {
            "field": problem.field,
            "label": fields[problem.field].verbose_name if problem.field in fields else None,
            "message": problem.message,
        }
        for problem in problems
    ]


def details(instance, names, **shown) -> list[tuple]:
    """(label, value as read) of the fields `names` of `instance`, for a read-only page; `shown`
    gives the value to show for a field instead of its own."""
    rows = []
    for name in names:
        field = instance._meta.get_field(name)
        value = getattr(instance, name)
        if name in shown:
            value = shown[name]
        elif name.endswith("country"):
            value = countries.name(value) or value
        elif field.choices:
            value = getattr(instance, f"get_{name}_display")()
        rows.append((field.verbose_name, value))
    return rows


@require_http_methods(["GET", "POST"])
@changes_need_role(
    Membership.Role.ADMIN, refusal=gettext_lazy("Only office administrators can change the invoicing profile.")
)
def profile_edit(request, company_number):
    administration = request.administration
    profile = profiles.profile_for(administration)
    if request.method == "GET" and wants_partial(request) and "number_pattern" in request.GET:
        pattern = request.GET["number_pattern"].strip()
        context = {"example": number_example(profile, pattern), "pattern": pattern}
        return _vary(render(request, f"{TEMPLATE}#number_example", context))

    # What the page says is missing is about the saved profile, not about a form being corrected.
    context = {
        "administration": administration,
        "profile": profile,
        "saved": profile.pk is not None,
        "problems": labelled(profiles.profile_problems(profile), InvoicingProfile),
        "notes": labelled(profiles.profile_notes(profile), InvoicingProfile),
        "example": number_example(profile, profile.number_pattern),
        "pattern": profile.number_pattern,
        # Clearfacts' one address line, when it could not be split into street, postal code and city.
        "unsplit_address": (administration.street_address if profile.pk is None and not profile.street else ""),
    }
    if not has_role(request.user, Membership.Role.ADMIN):
        tax_id = f"{profile.tax_id_country} {format_company_number(profile.tax_id)}" if profile.tax_id else ""
        context["details"] = details(profile, profiles.EDITABLE_FIELDS, tax_id=tax_id)
        return _vary(render(request, TEMPLATE, context))

    form = InvoicingProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        profiles.profile_save(profile=form.instance, actor=request.user)
        messages.success(request, _("The invoicing profile is saved."))
        return redirect("invoicing:profile", company_number=administration.company_number)
    if request.method == "POST":
        context["example"] = number_example(profile, form["number_pattern"].value() or "")
    form.preview_numbers_from(request.path)
    return _vary(render(request, TEMPLATE, context | {"form": form}))


def _vary(response):
    # The same URL answers the page or (HTMX) a part of it: browser caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response
