"""A person's own notification settings: which outcome e-mails they receive, and which
notifications of the bell also come by e-mail; one form, one save."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.roles import role_not_required
from clearfacts_app import notifications as bell
from invoicing import notifications
from invoicing.notification_forms import NotificationPreferenceForm, NotificationSettingForm


@require_http_methods(["GET", "POST"])
@role_not_required  # anyone signed in, viewers too: it changes nothing but their own e-mail
def notification_settings(request):
    setting = notifications.notification_setting_for(request.user)
    preference = bell.notification_preference_for(request.user)
    # An all-unchecked form posts no field at all: a POST is a submitted form whatever it holds.
    data = request.POST if request.method == "POST" else None
    form = NotificationSettingForm(data, instance=setting)
    preference_form = NotificationPreferenceForm(data, instance=preference)
    if form.is_valid() and preference_form.is_valid():
        with transaction.atomic():
            notifications.notification_setting_save(setting=form.instance, user=request.user)
            bell.notification_preference_save(preference=preference_form.instance, user=request.user)
        messages.success(request, _("Your notification settings are saved."))
        return redirect("invoicing:notification-settings")
    return render(request, "invoicing/notification_settings.html", {"form": form, "preference_form": preference_form})
