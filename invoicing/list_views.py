"""The invoice lists (an administration's Invoices tab, and every invoice the user may see) and their row actions."""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clearfacts_app.pages import list_filters
from clearfacts_app.roles import Action, checks_each_row, may_each, requires
from clearfacts_app.tabs import administration_tab
from invoicing import books, selectors, services
from invoicing.list_rows import row_view
from invoicing.models import BookFiling, DestinationCountry, Invoice
from portal.fragments import fragment_key
from portal.htmx import wants_partial
from portal.parsing import is_number

LIST_TEMPLATE = "invoicing/invoice_list.html"
DELETE_TEMPLATE = "invoicing/invoice_delete.html"
# The part of a list that its filters and pages replace (HTMX), by id.
RESULTS = "invoice-results"

drafters_only = requires(
    Action.DRAFT,
    refusal=gettext_lazy("Your role on this administration lets you look at invoices, not create or change them."),
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
    review = forms.ChoiceField(
        label=pgettext_lazy("four eyes", "Review"),
        required=False,
        choices=[("", gettext_lazy("Any review")), *selectors.REVIEW_FILTERS],
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

    def fragment_key(self) -> str:
        """What the form's HTML depends on besides its list's address: the language and the values
        given (the list keeps the drawn form under it, in the `fragments` cache)."""
        return fragment_key([self.data.get(name) for name in self.fields])

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
        review=values.get("review", ""),
        reader=request.user,
    )
    page = selectors.invoice_page(filtered, after=request.GET.get("after", ""), before=request.GET.get("before", ""))
    # What the user may do on each row's administration (`invoice.may.draft`), from one query.
    allowed = may_each(request.user, {row.invoice.administration_id for row in page.rows})
    for row in page.rows:
        row.invoice.may = allowed[row.invoice.administration_id]
    has_accepted = any(books.can_file(row.invoice) and row.invoice.may.submit for row in page.rows)
    may_submit_drafts = any(row.invoice.is_editable and row.invoice.may.submit for row in page.rows)
    may_act = any(row.invoice.may.draft for row in page.rows)
    for row in page.rows:
        row.view = row_view(
            row,
            choose_column=may_act or has_accepted or may_submit_drafts,
            actions_column=may_act,
            show_administration=show_administration,
        )
    return {
        "filter_form": form,
        "filters": list_filters(**{name: str(value) for name, value in values.items()}),
        "filtered": bool(values),
        "page": page,
        "list_url": list_url,
        "results_id": RESULTS,
        "show_administration": show_administration,
        "has_accepted": has_accepted,
        "may_submit_drafts": may_submit_drafts,
        "may_act": may_act,
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
@drafters_only
def invoice_duplicate(request, company_number, invoice_pk):
    try:
        copy = services.invoice_duplicate(invoice=_invoice(request, invoice_pk), actor=request.user)
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
        return _to_tab(company_number)
    messages.success(request, _("Draft %(number)s is a copy; change what differs.") % {"number": copy.invoice_number})
    return redirect("invoicing:invoice-edit", company_number=company_number, invoice_pk=copy.pk)


@require_POST
@drafters_only
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
@drafters_only
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


# --- accepted invoices into the books, several at once ---

BOOKS_TEMPLATE = "invoicing/bulk_books.html"


@dataclass
class BooksResult:
    invoice: Invoice | None
    filed: bool
    reason: str = ""


BOOKS_LIMIT = 100


def _chosen_ids(request) -> list[int]:
    chosen = []
    for value in request.POST.getlist("invoice"):
        if is_number(value) and len(value) <= 18 and int(value) not in chosen:
            chosen.append(int(value))
    return chosen


def _back(request) -> str:
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return url
    return reverse("invoicing:invoice-list")


def _not_filed_because(invoice: Invoice) -> str:
    if not books.can_file(invoice):
        return _("Only accepted invoices go to the books; this one is %(status)s.") % {
            "status": invoice.get_status_display().lower()
        }
    if hasattr(invoice, "book_filing"):
        return _("Already filed in the books.")  # or being filed: a failed one starts again
    return _("This administration does not send accepted invoices to its books (its invoicing settings).")


def _not_allowed(invoice: Invoice) -> str:
    return _("Your role on %(administration)s does not let you file its invoices in the books.") % {
        "administration": invoice.administration.name
    }


@require_POST
@checks_each_row(Action.SUBMIT)
def invoice_bulk_file_in_books(request):
    """Files the accepted invoices chosen on a list in their administrations' books; a page says what
    happened to each."""
    back = _back(request)
    chosen = _chosen_ids(request)
    if not chosen:
        messages.error(request, _("Choose the accepted invoices to file in the books."))
        return redirect(back)
    if len(chosen) > BOOKS_LIMIT:
        messages.error(request, _("At most %(limit)d invoices can be filed at once.") % {"limit": BOOKS_LIMIT})
        return redirect(back)
    # Looked up through the user's administrations: an id of another tenant is reported as not found, never used.
    found = selectors.visible_invoices(user=request.user).select_related("administration")
    invoices = found.in_bulk(chosen)
    # Each row's administration decides (one query for all): a row the user may not file is reported, not filed.
    allowed = may_each(request.user, {invoice.administration_id for invoice in invoices.values()})
    permitted = {pk for pk, invoice in invoices.items() if allowed[invoice.administration_id].submit}
    created = books.book_filings_request([pk for pk in chosen if pk in permitted], requested_by=request.user)
    filed = set(BookFiling.objects.filter(pk__in=created).values_list("invoice_id", flat=True))
    current = found.select_related("book_filing").in_bulk(chosen)
    results = []
    for pk in chosen:
        invoice = current.get(pk)
        if invoice is None:
            results.append(BooksResult(None, filed=False, reason=_("Not among the invoices you can see.")))
        elif pk not in permitted:
            results.append(BooksResult(invoice, filed=False, reason=_not_allowed(invoice)))
        elif pk in filed:
            results.append(BooksResult(invoice, filed=True))
        else:
            results.append(BooksResult(invoice, filed=False, reason=_not_filed_because(invoice)))
    count = len(filed)
    summary = ngettext("%(count)d filed", "%(count)d filed", count) % {"count": count}
    if len(results) > count:
        skipped = len(results) - count
        summary += ", " + ngettext("%(count)d not filed", "%(count)d not filed", skipped) % {"count": skipped}
    return render(request, BOOKS_TEMPLATE, {"results": results, "summary": summary, "back": back})
