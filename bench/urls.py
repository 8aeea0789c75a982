"""The portal's URLs plus a bare view, for bench/pages.py's server only (bench/settings.py selects it)."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import path

from portal.urls import handler400, handler500  # noqa: F401 (the handlers)
from portal.urls import urlpatterns as portal_urlpatterns


@login_not_required
def bare(request):
    """What Django costs with nothing to do: the middleware, the resolver, a short response."""
    return HttpResponse("ok")


urlpatterns = [path("bench/bare/", bare), *portal_urlpatterns]
