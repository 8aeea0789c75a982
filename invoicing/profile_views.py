"""The invoicing profile page: everyone who sees the administration reads it, its managers change it."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from clearfacts_app.roles import Action, can
from invoicing import identifiers, profiles
from invoicing.models import InvoicingProfile
from invoicing.settings_forms import InvoicingProfileForm
from invoicing.settings_pages import changes_need, details, labelled
from portal.htmx import wants_partial

TEMPLATE = "invoicing/profile.html"


@require_http_methods(["GET", "POST"])
@changes_need(
    Action.MANAGE, refusal=gettext_lazy("Only the managers of this administration can change its invoicing profile.")
)
def profile_edit(request, company_number):
    administration = request.administration
    profile = profiles.profile_for(administration)
    if request.method == "GET" and wants_partial(request) and "number_pattern" in request.GET:
        pattern = request.GET["number_pattern"].strip()
        context = {"example": profiles.number_example(profile, pattern), "pattern": pattern}
        return _vary(render(request, f"{TEMPLATE}#number_example", context))

    # What the page says is missing is about the saved profile, not about a form being corrected.
    context = {
        "administration": administration,
        "profile": profile,
        "saved": profile.pk is not None,
        "problems": labelled(profiles.profile_problems(profile), InvoicingProfile),
        "notes": labelled(profiles.profile_notes(profile), InvoicingProfile),
        "example": profiles.number_example(profile, profile.number_pattern),
        "pattern": profile.number_pattern,
        # Clearfacts' one address line, when it could not be split into street, postal code and city.
        "unsplit_address": (administration.street_address if profile.pk is None and not profile.street else ""),
    }
    if not can(request.user, Action.MANAGE, administration):
        tax_id = identifiers.tax_id_shown(profile.tax_id, profile.tax_id_country)
        iban = identifiers.iban_shown(profile.iban)
        context["details"] = details(profile, profiles.EDITABLE_FIELDS, tax_id=tax_id, iban=iban)
        return _vary(render(request, TEMPLATE, context))

    form = InvoicingProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        profiles.profile_save(profile=form.instance, actor=request.user)
        messages.success(request, _("The invoicing profile is saved."))
        return redirect("invoicing:profile", company_number=administration.company_number)
    if request.method == "POST":
        context["example"] = profiles.number_example(profile, form["number_pattern"].value() or "")
    form.preview_numbers_from(request.path)
    return _vary(render(request, TEMPLATE, context | {"form": form}))


def _vary(response):
    # The same URL answers the page or (HTMX) a part of it: browser caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response
