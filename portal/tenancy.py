"""Tenant scoping: the one entry point through which tenant-owned rows are read.

Tenant = Office. A user sees an administration when Clearfacts granted it to them (an
AdministrationAccess row) and it belongs to their own office. Everything else hangs off an
administration and is scoped through it. Outsiders get 404, never 403.
"""

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.db import models
from django.db.models import F
from django.shortcuts import get_object_or_404, resolve_url

from portal.htmx import redirect_with_next


class TenantQuerySet(models.QuerySet):
    """Queryset of a model owned by an administration.

    The model names the path to its administration in `administration_path` when it is not a
    direct `administration` foreign key (for example "invoice__administration").
    """

    def visible_to(self, user):
        from clearfacts_app.models import Administration

        path = getattr(self.model, "administration_path", "administration")
        return self.filter(**{f"{path}__in": Administration.objects.visible_to(user)})


def tenant_models():
    """Every model whose default manager is tenant-scoped (used by the cross-tenant tests)."""
    from django.apps import apps

    from clearfacts_app.models import Administration

    return [
        model
        for model in apps.get_models()
        if model is Administration or isinstance(model._default_manager.all(), TenantQuerySet)
    ]


class PortalLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Every view needs a signed-in user unless marked with @login_not_required.

    An HTMX request whose session has expired gets HX-Redirect, so the browser navigates to the
    sign-in page instead of HTMX swapping the sign-in page into a fragment.
    """

    def handle_no_permission(self, request, view_func):
        if getattr(request, "htmx", False):
            return redirect_with_next(request, resolve_url(self.get_login_url(view_func)))
        return super().handle_no_permission(request, view_func)


class AdministrationMiddleware:
    """Resolves the administration named by a `company_number` URL argument, once.

    Sets `request.administration` (None on other pages). An administration the user may not
    see answers 404. Runs after the login middleware, so the user is signed in here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.administration = None
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        company_number = view_kwargs.get("company_number")
        if company_number is None or not request.user.is_authenticated:
            return None
        from clearfacts_app.models import Administration
        from clearfacts_app.roles import role_known

        # The user's own access row is already joined to find the administration: its role comes
        # along, so the page's permission checks ask the database nothing more.
        administration = get_object_or_404(
            Administration.objects.visible_to(request.user)
            .select_related("office")
            .annotate(access_role=F("accesses__role")),
            company_number=company_number,
        )
        role_known(request.user, administration, administration.access_role)
        request.administration = administration
        if request.session.get("current_administration") != company_number:
            # Written only when it changes: a session saved on every page is a write transaction
            # (three round trips) on every request.
            request.session["current_administration"] = company_number
        return None
