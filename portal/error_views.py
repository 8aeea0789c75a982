"""The site's own error pages where Django would otherwise show its plain or debug ones."""

import logging

from django.http import HttpResponse
from django.shortcuts import render
from django.template import loader

logger = logging.getLogger(__name__)


def _error_page(request, template_name: str, status: int) -> HttpResponse:
    try:
        return render(request, template_name, {"error_page": True}, status=status)
    except Exception:
        # The request itself may be what is wrong (a bad Host header): the page without the request.
        logger.warning("the %s page failed to render with the request", status, exc_info=True)
        html = loader.get_template(template_name).render({"error_page": True})
        return HttpResponse(html, status=status)


def bad_request(request, exception):
    return _error_page(request, "400.html", 400)


def method_not_allowed(request):
    """A page only a form's button may ask for (a POST), asked for by address (GET)."""
    return _error_page(request, "405.html", 405)


def csrf_failure(request, reason=""):
    """A form sent without its valid security token (Django has logged the reason)."""
    return _error_page(request, "403_csrf.html", 403)
