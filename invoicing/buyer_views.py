"""The buyers' address book of an administration: those who draft add, change and delete entries, viewers read."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from clearfacts_app.pages import list_filters
from clearfacts_app.roles import Action, can, requires
from invoicing import buyers
from invoicing.settings_forms import BuyerForm
from invoicing.settings_pages import changes_need, details
from portal.htmx import wants_partial

LIST_TEMPLATE = "invoicing/buyer_list.html"
FORM_TEMPLATE = "invoicing/buyer_form.html"
DELETE_TEMPLATE = "invoicing/buyer_confirm_delete.html"
PAGE_SIZE = 25
REFUSAL = gettext_lazy("Your role on this administration lets you look at the address book, not change it.")

drafters_only = requires(Action.DRAFT, refusal=REFUSAL)


@require_GET
def buyer_list(request, company_number):
    query = request.GET.get("q", "").strip()[:100]
    found = buyers.buyer_search(request.administration.buyers.all(), query)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "administration": request.administration,
        "page": page,
        "query": query,
        "filters": list_filters(q=query),
    }
    template = f"{LIST_TEMPLATE}#results" if wants_partial(request) else LIST_TEMPLATE
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])  # the page or (HTMX) its results, at one URL
    return response


@require_http_methods(["GET", "POST"])
@drafters_only
def buyer_create(request, company_number):
    form = BuyerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        buyer = buyers.buyer_create(administration=request.administration, actor=request.user, buyer=form.save(False))
        messages.success(request, _("%(name)s is in the address book.") % {"name": buyer.name})
        return redirect("invoicing:buyer-list", company_number=company_number)
    return render(request, FORM_TEMPLATE, {"administration": request.administration, "form": form, "adding": True})


def _buyer(request, buyer_pk):
    return get_object_or_404(request.administration.buyers, pk=buyer_pk)


@require_http_methods(["GET", "POST"])
@changes_need(Action.DRAFT, refusal=REFUSAL)
def buyer_edit(request, company_number, buyer_pk):
    buyer = _buyer(request, buyer_pk)
    context = {
        "administration": request.administration,
        "buyer": buyer,
        "name": buyer.name,  # as saved: the form may be showing a name being corrected
        "invoice_count": buyer.invoices.count(),
    }
    if not can(request.user, Action.DRAFT, request.administration):
        tax_id = f"{buyer.tax_id_country} {buyer.tax_id}".strip() if buyer.tax_id else ""
        shown = [name for name in BuyerForm.Meta.fields if name != "tax_id_country"]
        context["details"] = details(buyer, shown, tax_id=tax_id)
        return render(request, FORM_TEMPLATE, context)
    form = BuyerForm(request.POST or None, instance=buyer)
    if request.method == "POST" and form.is_valid():
        buyers.buyer_update(buyer=form.save(False), actor=request.user)
        messages.success(request, _("%(name)s is saved.") % {"name": buyer.name})
        return redirect("invoicing:buyer-list", company_number=company_number)
    return render(request, FORM_TEMPLATE, context | {"form": form})


@require_http_methods(["GET", "POST"])
@drafters_only
def buyer_delete(request, company_number, buyer_pk):
    """Deletes after a confirmation: GET (or a POST without `confirm`) shows what would be deleted and asks."""
    buyer = _buyer(request, buyer_pk)
    if request.method == "GET" or request.POST.get("confirm") != "yes":
        context = {"administration": request.administration, "buyer": buyer, "invoice_count": buyer.invoices.count()}
        return render(request, DELETE_TEMPLATE, context)
    name = buyer.name
    buyers.buyer_delete(buyer=buyer, actor=request.user)
    messages.success(request, _("%(name)s is no longer in the address book.") % {"name": name})
    return redirect("invoicing:buyer-list", company_number=company_number)
