import logging

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clearfacts_app.models import Administration
from clearfacts_app.roles import may_each
from portal.dashboard import ADMINISTRATION_LIMIT, company_cards, panels_shown
from portal.health import broker_answers, database_answers, services_fingerprint
from portal.tasks import HEARTBEAT_KEY, WORKER_SERVICES_KEY

logger = logging.getLogger(__name__)


@require_GET
def dashboard(request):
    administrations = Administration.objects.visible_to(request.user)
    cards, attention_count = company_cards(request.user)
    # What the user may do on each card's administration, from one query (clearfacts_app.roles).
    allowed = may_each(request.user, [card.administration.pk for card in cards])
    for card in cards:
        card.may = allowed[card.administration.pk]
    return render(
        request,
        "portal/dashboard.html",
        {
            "cards": cards,
            "attention_count": attention_count,
            "administrations": administrations[:ADMINISTRATION_LIMIT],
            "administration_count": administrations.count(),
            "panels": panels_shown(request.user),
        },
    )


@login_not_required
@require_GET
@never_cache
def healthz(request):
    """200 when the database and the Celery broker answer, 503 otherwise.

    Also 503 when the worker that last ran the heartbeat talks to other Clearfacts or Clearvo
    addresses than this web process: documents would then never reach Clearfacts.
    """
    checks = {"database": database_answers(), "broker": broker_answers()}
    worker_services = cache.get(WORKER_SERVICES_KEY) if checks["database"] else None
    worker_agrees = worker_services in (None, services_fingerprint())
    healthy = all(checks.values()) and worker_agrees
    body = {
        "status": "ok" if healthy else "unavailable",
        **{name: "ok" if ok else "unavailable" for name, ok in checks.items()},
        "worker_services": "unknown" if worker_services is None else "same" if worker_agrees else "different",
        "worker_last_seen": cache.get(HEARTBEAT_KEY) if checks["database"] else None,
    }
    return JsonResponse(body, status=200 if healthy else 503)


@login_not_required
@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico on pages that do not name an icon."""
    return redirect(static("img/favicon.svg"), permanent=True)


def server_error(request):
    """The 500 page in the site's layout, rendered without touching the database."""
    try:
        # The language menu posts a form: its CSRF token is the only thing taken from the request.
        context = {"request": request, "error_page": True, "csrf_token": get_token(request)}
        html = loader.get_template("500.html").render(context)
    except Exception:
        logger.exception("the 500 page itself failed to render")
        html = "<h1>Server error</h1><p>Something went wrong on our side. Please try again later.</p>"
    return HttpResponse(html, status=500)
