from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render

from clearfacts_app.models import Administration
from portal.companies import compact_company_number

PAGE_SIZE = 25


def administration_list(request):
    administrations = Administration.objects.visible_to(request.user)
    query = request.GET.get("q", "").strip()
    if query:
        administrations = administrations.filter(
            Q(name__icontains=query) | Q(company_number__contains=compact_company_number(query))
        )
    page = Paginator(administrations, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "clearfacts_app/administration_list.html", {"page": page, "query": query})


def administration_detail(request, company_number):
    # The tenancy middleware resolved and authorised the administration (404 otherwise).
    return render(request, "clearfacts_app/administration_detail.html", {"administration": request.administration})
