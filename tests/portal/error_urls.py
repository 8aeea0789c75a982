"""The site's URLs plus a view that fails, for the error page tests."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from portal.urls import handler400, handler500, urlpatterns  # noqa: F401 (Django reads the handlers here)


@login_not_required
def broken(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [*urlpatterns, path("broken/", broken)]
