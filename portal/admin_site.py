"""The Django admin, for platform staff only: signed in with e-mail, password and TOTP (allauth)."""

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin, messages
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _

from portal.redirects import safe_next

STAFF_BACKEND = "accounts.staff.StaffAuthenticationBackend"


def signed_in_as_staff(request) -> bool:
    user = request.user
    return (
        user.is_active
        and user.is_staff
        and not user.is_clearfacts_user
        and request.session.get(BACKEND_SESSION_KEY) == STAFF_BACKEND
    )


class StaffAdminSite(admin.AdminSite):
    site_header = _("Clearfacts portal administration")
    site_title = _("Clearfacts portal administration")

    def has_permission(self, request):
        return signed_in_as_staff(request) and is_mfa_enabled(request.user, [Authenticator.Type.TOTP])

    @method_decorator(login_not_required)
    def login(self, request, extra_context=None):
        """Staff sign in through allauth (password, then TOTP), never through the admin's own form."""
        if signed_in_as_staff(request):
            messages.info(request, _("Set up two-factor authentication (TOTP) to use the administration site."))
            return redirect("mfa_activate_totp")
        if request.user.is_authenticated:
            messages.error(request, _("The administration site is for platform staff only."))
            return redirect("portal:dashboard")
        next_url = safe_next(request, request.GET.get("next")) or reverse("admin:index")
        return redirect_to_login(next_url, reverse("account_login"))
