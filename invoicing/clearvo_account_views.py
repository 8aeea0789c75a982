"""The office's Clearvo key: office administrators enter it, replace it or remove it; nobody reads it back."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import Membership
from accounts.roles import associates_only, requires_role
from invoicing import selectors, services
from invoicing.clearance_forms import ClearvoAccountForm

office_admin_only = requires_role(
    Membership.Role.ADMIN, refusal=gettext_lazy("Only office administrators can see and change the Clearvo key.")
)


@never_cache
@require_http_methods(["GET", "POST"])
@associates_only
@office_admin_only
def clearvo_account(request):
    office = request.user.office
    in_use = selectors.clearvo_key_in_use(office=office)
    form = ClearvoAccountForm()
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            if services.clearvo_account_remove(office=office, user=request.user):
                messages.success(request, _("The office's key is removed: submissions use the platform's key now."))
            return redirect("invoicing:clearvo-account")
        form = ClearvoAccountForm(request.POST)
        if form.is_valid():
            account = services.clearvo_account_save(
                office=office, api_key=form.cleaned_data["api_key"], user=request.user
            )
            messages.success(
                request,
                _("The %(mode)s key ending in %(last4)s is saved: the next submissions use it.")
                % {"mode": account.mode.upper(), "last4": account.api_key[-4:]},
            )
            return redirect("invoicing:clearvo-account")
    return render(request, "invoicing/clearvo_account.html", {"form": form, "in_use": in_use, "office": office})
