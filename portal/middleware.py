"""Middleware for running the site on a developer's machine (DEBUG=1, SITE_URL on localhost)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost, MiddlewareNotUsed
from django.http import Http404, HttpResponseRedirect
from django.http.request import split_domain_port
from django.views.defaults import page_not_found

from portal.error_views import bad_request, method_not_allowed
from portal.views import server_error

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
        try:
            name, port = split_domain_port(request.get_host())
        except DisallowedHost:
            return self.get_response(request)  # refused further in, once the user's language is known
        if name in LOOPBACK_NAMES and name != self.site_name and request.path_info != "/healthz":
            netloc = f"{self.site_name}:{port}" if port else self.site_name
            response = HttpResponseRedirect(f"{request.scheme}://{netloc}{request.get_full_path()}")
            if request.method not in SAFE_METHODS:
                response.status_code = 307  # the same method and body, at the right address
            return response
        return self.get_response(request)


# A bad request (a foreign Host header, too many fields) gets Django's debug page with status 400.
SITE_PAGES = {
    400: lambda request: bad_request(request, None),
    404: lambda request: page_not_found(request, Http404()),
    500: server_error,
}
DEBUG_PAGE_MARKER = b"DEBUG = True"  # the sentence every Django debug page begins its explanation with


class SiteErrorPagesMiddleware:
    """With DEBUG=1 (the embedded run) too, the site's 400, 404 and 500 pages instead of Django's debug pages.

    Those list every URL pattern and the settings. Django has already logged an unhandled exception
    with its traceback by the time its debug page passes here. Answers that are not a debug page,
    such as the sandbox APIs' JSON errors, are left as they are.

    And always the site's 405 page for the empty answer of @require_POST and its kind, which a
    browser shows as a bare error page: when a page a form answered is reloaded, or shown in
    another language (the language menu sends the browser back to its address with a GET).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.streaming and not response.content:
            return _with_site_page(response, method_not_allowed(request))
        if not settings.DEBUG or response.status_code not in SITE_PAGES or response.streaming:
            return response
        if DEBUG_PAGE_MARKER not in response.content:
            return response
        # The debug page's headers (security headers, CSP) stay; its body and type do not.
        return _with_site_page(response, SITE_PAGES[response.status_code](request))


def _with_site_page(response, site_page):
    """`response` with the body and type of `site_page`; its status and other headers (Allow, CSP) stay."""
    response.content = site_page.content
    response["Content-Type"] = site_page["Content-Type"]
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    return response
