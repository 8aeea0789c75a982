from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from portal import views

portal_patterns = (
    [
        path("", views.dashboard, name="dashboard"),
        path("healthz", views.healthz, name="healthz"),
    ],
    "portal",
)

urlpatterns = [
    path("", include(portal_patterns)),
    path("i18n/setlang/", login_not_required(require_POST(set_language)), name="set_language"),
    path("favicon.ico", views.favicon),
    path("accounts/", include("accounts.urls")),
    path("staff/", include("allauth.urls")),
    path("", include("clearfacts_app.urls")),
    path("", include("invoicing.urls")),
    path("admin/", admin.site.urls),
]

if settings.SANDBOX:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))

handler400 = "portal.error_views.bad_request"
handler500 = "portal.views.server_error"
