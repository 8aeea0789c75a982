from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET

from invoicing import editor_views

app_name = "invoicing"

# The `company` converter is registered by clearfacts_app.urls, included before this module.
urlpatterns = [
    # /administrations/<company>/invoicing/ : the invoicing profile and the buyers' address book
    #
    #
    # /administrations/<company>/invoices/new/ and .../<invoice_pk>/edit/ : the invoice editor
    # (and .../<invoice_pk>/ : the preview, with the payload that will be sent)
    path("administrations/<company:company_number>/invoices/new/", editor_views.invoice_create, name="invoice-create"),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/",
        editor_views.invoice_detail,
        name="invoice-detail",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/edit/",
        editor_views.invoice_edit,
        name="invoice-edit",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/payload.json",
        editor_views.invoice_payload_json,
        name="invoice-payload",
    ),
    #
    # /administrations/<company>/invoices/ : the tab, an invoice's page and its actions; /invoices/ : all of them
    #
]


# TEMPORARY: names other branches define; the lead removes this block at merge
@require_GET
def _placeholder(request, company_number):
    return HttpResponse("Placeholder until the branches are merged.", content_type="text/plain")


urlpatterns += [
    path("administrations/<company:company_number>/invoices/", _placeholder, name="administration-invoices"),
    path("administrations/<company:company_number>/invoicing/profile/", _placeholder, name="profile"),
]
