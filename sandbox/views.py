from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sandbox import live_settings
from sandbox.forms import FaultPlanForm, SandboxSettingsForm
from sandbox.models import FaultPlan, RequestLog, SandboxSettings, Service


def _index_page(request, *, settings_form=None, plan_form=None, status=200):
    from sandbox.clearfacts.models import ClearfactsUser
    from sandbox.clearfacts.seed import DEMO_PASSWORD
    from sandbox.clearvo.services import TRIGGERS

    users = ClearfactsUser.objects.select_related("accountant").order_by("accountant__name", "username")
    context = {
        "users": users,
        "demo_password": DEMO_PASSWORD,
        "settings_form": settings_form or SandboxSettingsForm(instance=SandboxSettings.load()),
        "knobs": live_settings.read(),
        "plan_form": plan_form or FaultPlanForm(),
        "plans": FaultPlan.objects.all(),
        "triggers": TRIGGERS,
    }
    return render(request, "sandbox/index.html", context, status=status)


@login_not_required
@require_http_methods(["GET", "POST"])
def index(request):
    """The demo users, the endpoints, the scenarios, and the knobs (time, faults, latency, bandwidth) to change live."""
    form = SandboxSettingsForm(request.POST or None, instance=SandboxSettings.load())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Sandbox settings saved; the next API call uses them.")
        return redirect(f"{reverse('sandbox:index')}#settings")
    return _index_page(request, settings_form=form)


@login_not_required
@require_POST
def fault_plan_add(request):
    """Plans faults for the next calls to one service, as sandbox.instrument.fail_next does."""
    form = FaultPlanForm(request.POST)
    if not form.is_valid():
        return _index_page(request, plan_form=form)
    plan = form.save()
    messages.success(request, f"Planned: {plan}.")
    return redirect(f"{reverse('sandbox:index')}#faults")


@login_not_required
@require_POST
def fault_plan_delete(request, fault_plan_pk: int):
    FaultPlan.objects.filter(pk=fault_plan_pk).delete()
    messages.success(request, "Fault plan removed.")
    return redirect(f"{reverse('sandbox:index')}#faults")


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
