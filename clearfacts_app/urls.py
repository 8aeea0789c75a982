from django.urls import path, register_converter

from clearfacts_app import views
from portal.converters import CompanyNumberConverter

app_name = "clearfacts_app"
register_converter(CompanyNumberConverter, "company")

# /administrations/...
urlpatterns = [
    path("", views.administration_list, name="administration-list"),
    path("<company:company_number>/", views.administration_detail, name="administration-detail"),
]
