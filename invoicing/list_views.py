"""The invoice lists (an administration's Invoices tab, and every invoice the user may see) and their row actions."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Membership
from accounts.roles import requires_role
from clearfacts_app.pages import list_filters
from clearfacts_app.tabs import administration_tab
from invoicing import selectors, services
from invoicing.models import DestinationCountry, Invoice
from portal.htmx import wants_partial

LIST_TEMPLATE = "invoicing/invoice_list.html"
DELETE_TEMPLATE = "invoicing/invoice_delete.html"
# The part of a list that its filters and pages replace (HTMX), by id.
RESULTS = "invoice-results"

writers_only = requires_role(
    Membership.Role.MEMBER, refusal=gettext_lazy("Viewers can look at invoices but not create or change them.")
)


SMALL_INPUT = {"class": "form-control form-control-sm"}
SMALL_SELECT = {"class": "form-select form-select-sm"}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(attrs=SMALL_INPUT, format="%Y-%m-%d")


class InvoiceFilterForm(forms.Form):
    """A list's filters; a value that is not valid is ignored, as if it were not set."""

    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs=SMALL_INPUT | {"type": "search", "placeholder": gettext_lazy("Number, buyer or tax id")}
        ),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Every status")), *selectors.STATUS_FILTERS],
        widget=forms.Select(attrs=SMALL_SELECT),
    )
    country = forms.ChoiceField(
        label=gettext_lazy("Destination country"),
        required=False,
        choices=[("", gettext_lazy("Every country")), *DestinationCountry.choices],
        widget=forms.Select(attrs=SMALL_SELECT),
    )
    type = forms.ChoiceField(
        label=gettext_lazy("Type"),
        required=False,
        choices=[("", gettext_lazy("Every type")), *Invoice.DocumentType.choices],
        widget=forms.Select(attrs=SMALL_SELECT),
    )
    issued_from = forms.DateField(label=gettext_lazy("Issued from"), required=False, widget=DateInput())
    issued_to = forms.DateField(label=gettext_lazy("Issued until"), required=False, widget=DateInput())

    def clean(self):
        data = super().clean()
        issued_from, issued_to = data.get("issued_from"), data.get("issued_to")
        if issued_from and issued_to and issued_from > issued_to:
            # Both stay applied (nothing matches); the list says why.
            labels = {"start": self.fields["issued_from"].label, "end": self.fields["issued_to"].label}
            self.add_error(
                None, _("“%(start)s” is after “%(end)s”: no invoice can match. Swap the two dates.") % labels
            )
        return data

    def values(self) -> dict:
        """The valid values that are set."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}


def _list_context(request, invoices, *, list_url: str, show_administration: bool) -> dict:
    form = InvoiceFilterForm(request.GET)
    values = form.values()
    filtered = selectors.invoices_filtered(
        invoices,
        status=values.get("status", ""),
        country=values.get("country", ""),
        document_type=values.get("type", ""),
        issued_from=values.get("issued_from"),
        issued_to=values.get("issued_to"),
        search=values.get("q", ""),
    )
    page = selectors.invoice_page(filtered, after=request.GET.get("after", ""), before=request.GET.get("before", ""))
    return {
        "filter_form": form,
        "filters": list_filters(**{name: str(value) for name, value in values.items()}),
        "filtered": bool(values),
        "page": page,
        "list_url": list_url,
        "results_id": RESULTS,
        "show_administration": show_administration,
    }


def _results(request, context):
    """Only the rows and pages of a list, for its filters and page links (HTMX)."""
    response = render(request, f"{LIST_TEMPLATE}#invoice_results", context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _wants_results(request) -> bool:
    return wants_partial(request) and request.htmx.target == RESULTS


@require_GET
def administration_invoices(request, company_number):
    """The administration page's Invoices tab."""
    list_url = reverse("invoicing:administration-invoices", kwargs={"company_number": company_number})
    context = _list_context(
        request, request.administration.invoices.all(), list_url=list_url, show_administration=False
    )
    if _wants_results(request):
        return _results(request, context)
    response = administration_tab(request, "invoices", **context)
    patch_vary_headers(response, ["HX-Target"])
    return response


@require_GET
def invoice_list(request):
    """Invoices of every administration the user may see."""
    context = _list_context(
        request,
        selectors.visible_invoices(user=request.user),
        list_url=reverse("invoicing:invoice-list"),
        show_administration=True,
    )
    if _wants_results(request):
        return _results(request, context)
    response = render(request, LIST_TEMPLATE, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


# --- row actions ---


def _invoice(request, invoice_pk) -> Invoice:
    return get_object_or_404(request.administration.invoices, pk=invoice_pk)


def _to_tab(company_number):
    return redirect("invoicing:administration-invoices", company_number=company_number)


@require_POST
@writers_only
def invoice_duplicate(request, company_number, invoice_pk):
    try:
        copy = services.invoice_duplicate(invoice=_invoice(request, invoice_pk), actor=request.user)
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
        return _to_tab(company_number)
    messages.success(request, _("Draft %(number)s is a copy; change what differs.") % {"number": copy.invoice_number})
    return redirect("invoicing:invoice-edit", company_number=company_number, invoice_pk=copy.pk)


@require_POST
@writers_only
def invoice_credit_note(request, company_number, invoice_pk):
    try:
        note = services.credit_note_create(original=_invoice(request, invoice_pk), actor=request.user)
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
        return _to_tab(company_number)
    messages.success(
        request,
        _("Credit note %(number)s is a draft with the lines of invoice %(original)s; keep the lines it credits.")
        % {"number": note.invoice_number, "original": note.original_invoice.invoice_number},
    )
    return redirect("invoicing:invoice-edit", company_number=company_number, invoice_pk=note.pk)


@require_http_methods(["GET", "POST"])
@writers_only
def invoice_delete(request, company_number, invoice_pk):
    """Asks first (GET, as Django's DeleteView: the page can be reloaded or shown in another
    language), then deletes the draft when its form posts `confirm`."""
    invoice = _invoice(request, invoice_pk)
    try:
        if request.method == "GET" or request.POST.get("confirm") != "yes":
            services.invoice_delete_check(invoice=invoice)
            return render(request, DELETE_TEMPLATE, {"administration": request.administration, "invoice": invoice})
        services.invoice_delete(invoice=invoice, actor=request.user)
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
        return _to_tab(company_number)
    messages.success(request, _("Draft %(number)s was deleted.") % {"number": invoice.invoice_number})
    return _to_tab(company_number)
