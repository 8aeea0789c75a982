from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sandbox.models import RequestLog, Service


@login_not_required
@require_GET
def index(request):
    from sandbox.clearfacts.models import ClearfactsUser
    from sandbox.clearfacts.seed import DEMO_PASSWORD

    users = ClearfactsUser.objects.select_related("accountant").order_by("accountant__name", "username")
    return render(request, "sandbox/index.html", {"users": users, "demo_password": DEMO_PASSWORD})


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
