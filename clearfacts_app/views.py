"""Administrations: the list, the detail page and its tabs (each one loaded on demand with HTMX).

Tab views render the detail page; for HTMX requests only its `tabs` partial. What comes from
Clearfacts is read through the cached selectors; a missing scope or an unreachable Clearfacts
becomes a message in the tab, never an error page.
"""

import json
import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import QueryDict
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Membership
from clearfacts_app import client, selectors, services
from clearfacts_app.forms import AppInfoForm, CustomerSearchForm, StatisticsPeriodForm
from clearfacts_app.models import Administration, Document
from portal.companies import compact_company_number

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
SORTS = {"name": "name", "-name": "-name", "number": "company_number", "-number": "-company_number",
         "documents": "document_count", "-documents": "-document_count"}  # fmt: skip
DETAIL_TEMPLATE = "clearfacts_app/administration_detail.html"

SCOPE_NAMES = {
    "journal_read": gettext_lazy("read the administration's journals"),
    "contact_read": gettext_lazy("read the administration's customers"),
    "archive_read": gettext_lazy("read the archive categories"),
    "statistics": gettext_lazy("read statistics"),
    "accountant": gettext_lazy("read your accounting office's details"),
    "associate_read": gettext_lazy("read the office's associates"),
    "associate_actions": gettext_lazy("add and change associates"),
}


def missing_scope_message(scope: str) -> str:
    return _(
        "Your Clearfacts sign-in does not allow the portal to %(what)s (scope %(scope)s). Sign in again and allow "
        "it, or ask your accounting office."
    ) % {"what": SCOPE_NAMES.get(scope, scope), "scope": scope}


def has_scope(request, scope: str) -> bool:
    credential = getattr(request, "clearfacts_credential", None)
    return credential is not None and credential.has_scope(scope)


def is_office_admin(user) -> bool:
    membership = getattr(user, "membership", None)
    return membership is not None and membership.role == Membership.Role.ADMIN


def read_clearfacts(request, scope: str, read):
    """Runs a Clearfacts read for a page: (result, None) or (None, a message for the page).

    client.NotAuthorized is left to the credential middleware, which asks for a new sign-in.
    """
    if not has_scope(request, scope):
        return None, missing_scope_message(scope)
    try:
        return read(refresh=request.GET.get("refresh") == "1"), None
    except client.MissingScope as error:
        return None, missing_scope_message(error.details.get("scope", scope))
    except client.NotFound:
        return None, _("Clearfacts no longer lets you see this. Use “Refresh from Clearfacts” on the dashboard.")
    except client.Unavailable:
        logger.warning("Clearfacts unavailable for a page", exc_info=True)
        return None, _("Clearfacts could not be reached just now. Try again in a moment.")
    except client.SchemaMismatch:
        logger.warning("Clearfacts' schema refused a page's question", exc_info=True)
        return None, _("Clearfacts no longer answers this question the way the portal asks it. Try again later.")
    except client.Refused as error:
        return None, refusal_message(error)
    except client.ClearfactsAnswerInvalid:
        return None, answer_invalid_message()


def refusal_message(error: client.Refused) -> str:
    """Why Clearfacts refused, in the reader's language; Clearfacts' own words only quoted as its."""
    if error.code == "FORBIDDEN":
        return _(
            "Clearfacts does not let your account see this: it is for the accounting office's associates, "
            "or needs a right your account does not have."
        )
    if error.message:
        return _("Clearfacts refused the request. Clearfacts said: “%(message)s”") % {"message": error.message}
    return _("Clearfacts refused the request.")


def answer_invalid_message() -> str:
    return _("Clearfacts could not say just now: its answer was incomplete or not what it should be. Try again later.")


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
    administrations = administrations.annotate(document_count=Count("documents")).order_by(SORTS[sort], "pk")
    page = Paginator(administrations, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "clearfacts_app/administration_list.html", {"page": page, "query": query, "sort": sort})


TABS = [
    ("documents", gettext_lazy("Documents")),
    ("journals", gettext_lazy("Journals")),
    ("customers", gettext_lazy("Customers")),
    ("archive", gettext_lazy("Archive categories")),
    ("statistics", gettext_lazy("Statistics")),
]


def wants_partial(request) -> bool:
    """An HTMX request for a part of the page; restoring history after "back" needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _tab(request, tab: str | None, **context):
    template = f"{DETAIL_TEMPLATE}#tabs" if wants_partial(request) else DETAIL_TEMPLATE
    context |= {"administration": request.administration, "tab": tab, "tab_labels": TABS}
    response = render(request, template, context)
    # The same URL answers the page or its tabs: browser caches must tell them apart.
    patch_vary_headers(response, ["HX-Request", "HX-History-Restore-Request"])
    return response


@require_GET
def administration_detail(request, company_number):
    # The administration was resolved and authorised by the tenancy middleware (404 otherwise).
    # The first tab (documents) is local; the others call Clearfacts and load when opened.
    return administration_documents(request, company_number)


def document_list_context(documents, params) -> dict:
    """A page of `documents` and its `filters`, which keep only known values (links are built from them)."""
    filters = QueryDict(mutable=True)
    for name, choices in (("status", Document.Status.values), ("destination", Document.Destination.values)):
        if params.get(name) in choices:
            filters[name] = params[name]
    page = selectors.document_page(documents, params=filters.dict() | {"page": params.get("page")})
    return page | {"filters": filters}


@require_GET
def administration_documents(request, company_number):
    return _tab(request, "documents", **document_list_context(request.administration.documents.all(), request.GET))


@require_GET
def administration_journals(request, company_number):
    journals, problem = read_clearfacts(
        request,
        "journal_read",
        lambda refresh: selectors.journals(user=request.user, administration=request.administration, refresh=refresh),
    )
    return _tab(request, "journals", journals=journals, problem=problem)


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
    return _tab(request, "customers", customers=page, problem=problem, search_form=form, query=query)


@require_GET
def administration_archive(request, company_number):
    categories, problem = read_clearfacts(
        request,
        "archive_read",
        lambda refresh: selectors.archive_categories(
            user=request.user, administration=request.administration, refresh=refresh
        ),
    )
    return _tab(request, "archive", categories=categories, problem=problem)


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
    return _tab(request, "statistics", months=months, chart_json=chart_json, problem=problem, period_form=form)


@require_http_methods(["GET", "POST"])
def administration_app_info(request, company_number):
    """updateAppInfo for this administration; for office administrators only."""
    if not is_office_admin(request.user):
        raise PermissionDenied(_("Only office administrators can change the app info."))
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
        except client.Unavailable:
            form.add_error(None, _("Clearfacts could not be reached just now. Try again in a moment."))
        except (client.Refused, client.MissingScope, client.NotFound) as error:
            form.add_clearfacts_error(error.details.get("field"), error.message or _("Clearfacts refused the change."))
        else:
            messages.success(request, _("Clearfacts saved the app info."))
    return render(
        request,
        "clearfacts_app/app_info.html",
        {"administration": request.administration, "form": form, "saved": saved},
    )
