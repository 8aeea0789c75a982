"""A person's own notification setting: which outcome e-mails they receive."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.roles import role_not_required
from invoicing import notifications
from invoicing.notification_forms import NotificationSettingForm


@require_http_methods(["GET", "POST"])
@role_not_required  # anyone signed in, viewers too: it changes nothing but their own e-mail
def notification_settings(request):
    setting = notifications.notification_setting_for(request.user)
    # An all-unchecked form posts no field at all: a POST is a submitted form whatever it holds.
    form = NotificationSettingForm(request.POST if request.method == "POST" else None, instance=setting)
    if form.is_valid():
        notifications.notification_setting_save(setting=form.instance, user=request.user)
        messages.success(request, _("Your notification settings are saved."))
        return redirect("invoicing:notification-settings")
    return render(request, "invoicing/notification_settings.html", {"form": form})
