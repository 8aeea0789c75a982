"""Administrations: the list, the detail page and its tabs (each one loaded on demand with HTMX).

Tab views render the detail page; for HTMX requests only its `tabs` partial. What comes from
Clearfacts is read through the cached selectors; a missing scope or an unreachable Clearfacts
becomes a message in the tab, never an error page.
"""

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Membership
from accounts.roles import associates_only, requires_role
from clearfacts_app import client, selectors, services
from clearfacts_app.forms import AppInfoForm, CustomerSearchForm, StatisticsPeriodForm
from clearfacts_app.models import Administration
from clearfacts_app.pages import document_list_context, list_filters, read_clearfacts
from clearfacts_app.tabs import administration_tab
from portal.companies import compact_company_number

PAGE_SIZE = 25
SORTS = {
    "name": "name",
    "-name": "-name",
    "number": "company_number",
    "-number": "-company_number",
    "documents": "document_count",
    "-documents": "-document_count",
}


@require_GET
def administration_list(request):
    administrations = Administration.objects.visible_to(request.user)
    query = request.GET.get("q", "").strip()[:100]
    if query:
        number = compact_company_number(query)
        matches = Q(name__icontains=query)
        if number.isdigit():
            matches |= Q(company_number__contains=number)
        administrations = administrations.filter(matches)
    sort = request.GET.get("sort") if request.GET.get("sort") in SORTS else "name"
    administrations = administrations.order_by(SORTS[sort], "pk")
    page = Paginator(administrations, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "query": query, "sort": sort, "filters": list_filters(q=query, sort=sort)}
    return render(request, "clearfacts_app/administration_list.html", context)


@require_GET
def administration_detail(request, company_number):
    # The administration was resolved and authorised by the tenancy middleware (404 otherwise).
    # The first tab (documents) is local; the others call Clearfacts and load when opened.
    return administration_documents(request, company_number)


@require_GET
def administration_documents(request, company_number):
    return administration_tab(
        request, "documents", **document_list_context(request.administration.documents.all(), request.GET)
    )


@require_GET
def administration_journals(request, company_number):
    journals, problem = read_clearfacts(
        request,
        "journal_read",
        lambda refresh: selectors.journals(user=request.user, administration=request.administration, refresh=refresh),
    )
    return administration_tab(request, "journals", journals=journals, problem=problem)


@require_GET
def administration_customers(request, company_number):
    form = CustomerSearchForm(request.GET)
    form.is_valid()
    query, number = form.cleaned_data.get("q") or "", form.cleaned_data.get("page") or 1
    page, problem = read_clearfacts(
        request,
        "contact_read",
        lambda refresh: selectors.customers_page(
            user=request.user, administration=request.administration, number=number, query=query, refresh=refresh
        ),
    )
    context = {
        "customers": page,
        "problem": problem,
        "search_form": form,
        "query": query,
        "filters": list_filters(q=query),
    }
    return administration_tab(request, "customers", **context)


@require_GET
def administration_archive(request, company_number):
    categories, problem = read_clearfacts(
        request,
        "archive_read",
        lambda refresh: selectors.archive_categories(
            user=request.user, administration=request.administration, refresh=refresh
        ),
    )
    return administration_tab(request, "archive", categories=categories, problem=problem)


@require_GET
def administration_statistics(request, company_number):
    form = StatisticsPeriodForm(request.GET if "start" in request.GET else StatisticsPeriodForm.default_period())
    months, problem = None, None
    if form.is_valid():
        months, problem = read_clearfacts(
            request,
            "statistics",
            lambda refresh: selectors.statistics(
                user=request.user,
                administration=request.administration,
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                refresh=refresh,
            ),
        )
    chart = None
    if months:
        chart = {
            "labels": [month.period for month in months],
            "air": [month.air for month in months],
            "processing": [month.processing for month in months],
            "air_label": _("Recognised automatically (AIR)"),
            "processing_label": _("Processed"),
        }
    # In an attribute, not a <script> block: htmx drops scripts from swapped content (allowScriptTags off).
    chart_json = json.dumps(chart) if chart else ""
    return administration_tab(
        request, "statistics", months=months, chart_json=chart_json, problem=problem, period_form=form
    )


@require_http_methods(["GET", "POST"])
@associates_only
@requires_role(Membership.Role.ADMIN, refusal=gettext_lazy("Only office administrators can change the app info."))
def administration_app_info(request, company_number):
    """updateAppInfo for this administration."""
    form = AppInfoForm(request.POST or None)
    saved = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.app_info_update(
                user=request.user,
                administration=request.administration,
                image_url=data["image_url"],
                email=data["email"],
                badge={"text": data["badge_text"], "textColor": data["badge_text_color"], "color": data["badge_color"]},
                icon={"type": data["icon_type"], "color": data["icon_color"]},
            )
        except (client.Unavailable, client.Refused, client.MissingScope, client.NotFound) as error:
            form.add_change_failure(error)
        else:
            messages.success(request, _("Clearfacts saved the app info."))
    return render(
        request,
        "clearfacts_app/app_info.html",
        {"administration": request.administration, "form": form, "saved": saved},
    )
