from django.urls import path

from invoicing import buyer_views, profile_views

app_name = "invoicing"

# The `company` converter is registered by clearfacts_app.urls, included before this module.
urlpatterns = [
    # /administrations/<company>/invoicing/ : the invoicing profile and the buyers' address book
    path("administrations/<company:company_number>/invoicing/profile/", profile_views.profile_edit, name="profile"),
    path("administrations/<company:company_number>/invoicing/buyers/", buyer_views.buyer_list, name="buyer-list"),
    path(
        "administrations/<company:company_number>/invoicing/buyers/new/", buyer_views.buyer_create, name="buyer-create"
    ),
    path(
        "administrations/<company:company_number>/invoicing/buyers/<int:buyer_pk>/",
        buyer_views.buyer_edit,
        name="buyer-edit",
    ),
    path(
        "administrations/<company:company_number>/invoicing/buyers/<int:buyer_pk>/delete/",
        buyer_views.buyer_delete,
        name="buyer-delete",
    ),
    #
    #
    # /administrations/<company>/invoices/new/ and .../<invoice_pk>/edit/ : the invoice editor
    #
    #
    # /administrations/<company>/invoices/ : the tab, an invoice's page and its actions; /invoices/ : all of them
    #
]
