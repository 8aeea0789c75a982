"""Where a `next` parameter may send the user: a path on this site, nothing else."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, value: str | None) -> str:
    """`value` if it is a path on this site (such as /administrations/), else "".

    Only paths: redirect() would read a bare word ("last", "0") as a URL pattern name and fail.
    """
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return ""
    if not url_has_allowed_host_and_scheme(value, {request.get_host()}, require_https=request.is_secure()):
        return ""
    return value


def grant_access_url(scope: str, *, next_url: str) -> str:
    """Runs the authorization again asking also for `scope` (with prompt=consent), then back to `next_url`."""
    return f"{reverse('accounts:oidc-start')}?{urlencode({'grant': scope, 'next': next_url})}"
