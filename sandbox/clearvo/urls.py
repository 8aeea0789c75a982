from django.urls import path, re_path

from sandbox.clearvo import views

app_name = "clearvo"

# /sandbox/clearvo/v1/...
urlpatterns = [
    path("invoices", views.invoices, name="invoices"),
    path("invoices/status", views.invoice_status, name="invoice-status"),
    re_path(r"^(?P<path>.*)$", views.not_found, name="not-found"),
]
