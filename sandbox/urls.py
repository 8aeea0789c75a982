from django.urls import include, path

from sandbox import views

app_name = "sandbox"

# /sandbox/...
urlpatterns = [
    path("", views.index, name="index"),
    path("requests/", views.request_log, name="request-log"),
    path("clearfacts/", include("sandbox.clearfacts.urls")),
    path("clearvo/v1/", include("sandbox.clearvo.urls")),
]
