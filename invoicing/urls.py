from django.urls import path  # noqa: F401 (routes arrive with the invoicing branches)

app_name = "invoicing"

# The `company` converter is registered by clearfacts_app.urls, included before this module.
urlpatterns = [
    # /administrations/<company>/invoicing/ : the invoicing profile and the buyers' address book
    #
    #
    # /administrations/<company>/invoices/new/ and .../<invoice_pk>/edit/ : the invoice editor
    #
    #
    # /administrations/<company>/invoices/ : the tab, an invoice's page and its actions; /invoices/ : all of them
    #
]
