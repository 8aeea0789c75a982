"""No shared or browser cache keeps a response that was built from someone's session."""

from django.utils.cache import patch_cache_control


def depends_on_session(request) -> bool:
    """The response read (or wrote) a session that holds something: a signed-in user's pages,
    their HTMX partials, an anonymous visitor's sign-in state. A fresh visitor's empty session
    does not count, so the sign-in page, /healthz and the like stay as their views set them."""
    session = getattr(request, "session", None)
    if session is None:
        return False
    return session.modified or (session.accessed and not session.is_empty())


class PrivateCacheControlMiddleware:
    """Adds `Cache-Control: private, no-store` to every response that depends on the session.

    Listed right after SessionMiddleware, so it sees every use of the session the inner middleware
    and the view made. Static files never get here (runserver and WhiteNoise answer them earlier).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if depends_on_session(request):
            patch_cache_control(response, private=True, no_store=True)
        return response
