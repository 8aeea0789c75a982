"""Middleware for running the site on a developer's machine."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpResponseRedirect
from django.http.request import split_domain_port

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "[::1]"}
SAFE_METHODS = {"GET", "HEAD"}


class OneLocalOriginMiddleware:
    """Sends http://127.0.0.1:8000/ (what runserver prints) to SITE_URL's name, http://localhost:8000/.

    The session, and so the sign-in's state, belongs to one host name, and the sandbox's consent
    form may only lead back to its own origin (CSP form-action): a sign-in started on another name
    for the same machine could never complete. Only when SITE_URL names this machine; the port stays
    the one the request came in on. /healthz is left alone for probes.
    """

    def __init__(self, get_response):
        site_host = urlsplit(settings.SITE_URL).netloc
        self.site_name, _ = split_domain_port(site_host)
        if self.site_name not in LOOPBACK_NAMES:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        name, port = split_domain_port(request.get_host())
        if name in LOOPBACK_NAMES and name != self.site_name and request.path_info != "/healthz":
            netloc = f"{self.site_name}:{port}" if port else self.site_name
            response = HttpResponseRedirect(f"{request.scheme}://{netloc}{request.get_full_path()}")
            if request.method not in SAFE_METHODS:
                response.status_code = 307  # the same method and body, at the right address
            return response
        return self.get_response(request)
