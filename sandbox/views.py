from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from sandbox import live_settings
from sandbox.forms import SandboxSettingsForm
from sandbox.models import RequestLog, SandboxSettings, Service


@login_not_required
@require_http_methods(["GET", "POST"])
def index(request):
    """The demo users, the endpoints, and the knobs (time, faults, latency, bandwidth) to change live."""
    from sandbox.clearfacts.models import ClearfactsUser
    from sandbox.clearfacts.seed import DEMO_PASSWORD

    form = SandboxSettingsForm(request.POST or None, instance=SandboxSettings.load())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Sandbox settings saved; the next API call uses them.")
        return redirect(f"{reverse('sandbox:index')}#settings")
    users = ClearfactsUser.objects.select_related("accountant").order_by("accountant__name", "username")
    context = {"users": users, "demo_password": DEMO_PASSWORD, "settings_form": form, "knobs": live_settings.read()}
    return render(request, "sandbox/index.html", context)


@login_not_required
@require_GET
def request_log(request):
    """Every call the simulated services received, newest first; filter by service and status."""
    entries = RequestLog.objects.all()
    service = request.GET.get("service", "")
    if service in Service.values:
        entries = entries.filter(service=service)
    status = request.GET.get("status", "")
    if status.isdigit():
        entries = entries.filter(status=int(status))
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "sandbox/request_log.html",
        {"page": page, "services": Service.choices, "service": service, "status": status},
    )
