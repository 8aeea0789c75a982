"""What views and middleware share about HTMX requests."""

from urllib.parse import urlencode, urlsplit, urlunsplit

from django.http import HttpResponseRedirect
from django_htmx.http import HttpResponseClientRedirect


def wants_partial(request) -> bool:
    """An HTMX request for a part of the page; restoring history after "back" needs the whole page."""
    return bool(getattr(request, "htmx", False)) and not request.htmx.history_restore_request


def redirect_with_next(request, url: str):
    """Sends the browser to `url` with `?next=` the page the user is on, to come back to afterwards.

    An HTMX request gets HX-Redirect naming the page in the address bar (not the fragment asked
    for), so the browser navigates instead of HTMX swapping the other page into a fragment.
    """
    if getattr(request, "htmx", False):
        next_url = request.htmx.current_url_abs_path or "/"
        return HttpResponseClientRedirect(_with_next(url, next_url))
    return HttpResponseRedirect(_with_next(url, request.get_full_path()))


def _with_next(url: str, next_url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query=urlencode({"next": next_url})))
