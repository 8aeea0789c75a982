from django.urls import include, path

from sandbox import views

app_name = "sandbox"

# /sandbox/...
urlpatterns = [
    path("", views.index, name="index"),
    path("faults/", views.fault_plan_add, name="fault-plan-add"),
    path("faults/<int:fault_plan_pk>/delete/", views.fault_plan_delete, name="fault-plan-delete"),
    path("requests/", views.request_log, name="request-log"),
    path("clearfacts/", include("sandbox.clearfacts.urls")),
    path("clearvo/v1/", include("sandbox.clearvo.urls")),
]
