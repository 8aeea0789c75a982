"""The invoice editor (a new draft, or a draft edited) and an invoice's preview with its Clearvo payload.

The editor is one form whose buttons post to the same view with `name="action"`: "save", and
the actions that only change the page (add or remove a line, find or use a buyer, refresh it
for another country or type, recalculate the totals). Without JavaScript each answers the whole
page; for HTMX the part that changed (a partial of invoice_form.html), so the server owns the
formset and its validation and no JavaScript copies forms.
"""

from decimal import Decimal
from types import SimpleNamespace

from django.conf import settings
from django.contrib import messages
from django.db import models
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from clearfacts_app.roles import Action, requires
from invoicing import buyers, identifiers, payload, profiles, rates, rules, selectors, services, totals
from invoicing.forms import (
    LINES_PREFIX,
    MAX_LINES,
    InvoiceForm,
    InvoiceLineFormSet,
    attach_problems,
    cleaned_copy,
    field_label,
    labelled,
    quiet,
)
from invoicing.models import DestinationCountry, Invoice, InvoiceLine, InvoicingProfile
from portal.htmx import wants_partial
from portal.parsing import is_number

EDITOR_TEMPLATE = "invoicing/invoice_form.html"
DETAIL_TEMPLATE = "invoicing/invoice_detail.html"
# The part of the editor each action changes, rendered alone for HTMX.
PARTIALS = {
    "add-line": "lines",
    "remove-line": "lines",
    "refresh-lines": "lines",
    "find-buyer": "buyer_suggestions",
    "use-buyer": "editor",
    "refresh": "editor",
    "save": "editor",
}
QUERY_LENGTH = 100

drafters_only = requires(
    Action.DRAFT,
    refusal=gettext_lazy("Your role on this administration lets you read invoices, not draft or change them."),
)


def _go(request, url):
    return HttpResponseClientRedirect(url) if getattr(request, "htmx", False) else redirect(url)


def _detail_url(invoice: Invoice) -> str:
    return reverse(
        "invoicing:invoice-detail",
        kwargs={"company_number": invoice.administration.company_number, "invoice_pk": invoice.pk},
    )


def _invoice(request, invoice_pk) -> Invoice:
    # The invoicing profile comes along: the page's review box and books box both read it.
    invoices = request.administration.invoices.select_related("administration__invoicing_profile")
    return get_object_or_404(invoices, pk=invoice_pk)


def author_language(request) -> str:
    """The language a new invoice is written in until its author picks another: the one they read the portal in."""
    spoken = [code for code, _name in settings.LANGUAGES]
    language = getattr(request, "LANGUAGE_CODE", "")
    return language if language in spoken else settings.LANGUAGE_CODE


def profile_missing(profile: InvoicingProfile) -> list[str]:
    """What the profile still lacks before a draft may be created, one sentence each: the sentences
    of the profile page (an unsaved profile, then each field), so that the two pages agree."""
    missing = []
    for problem in profiles.profile_problems(profile):
        label = field_label(InvoicingProfile, problem.field)
        missing.append(labelled(label, problem.message) if label else problem.message)
    return missing


@require_http_methods(["GET", "POST"])
@drafters_only
def invoice_create(request, company_number):
    administration = request.administration
    profile = profiles.profile_for(administration)
    missing = profile_missing(profile)
    if missing:
        return render(
            request, EDITOR_TEMPLATE, {"administration": administration, "missing": missing, "creating": True}
        )
    return Editor(request, profile=profile, invoice=None).respond()


@require_http_methods(["GET", "POST"])
@drafters_only
def invoice_edit(request, company_number, invoice_pk):
    invoice = _invoice(request, invoice_pk)
    if not invoice.is_editable:
        messages.info(
            request,
            _("Only drafts can be changed; this invoice is %(status)s.")
            % {"status": invoice.get_status_display().lower()},
        )
        return _go(request, _detail_url(invoice))
    return Editor(request, profile=profiles.profile_for(request.administration), invoice=invoice).respond()


class Editor:
    """One request to the editor: the forms bound to what was posted, the action, the answer."""

    def __init__(self, request, *, profile: InvoicingProfile, invoice: Invoice | None):
        self.request, self.profile, self.invoice = request, profile, invoice
        self.administration = request.administration
        self.creating = invoice is None
        self.instance = invoice or Invoice(administration=self.administration)
        self.notice, self.suggestions, self.searched, self.focus = None, [], False, None
        self.conflict_version, self.data = None, None

    @property
    def url(self) -> str:
        if self.creating:
            return reverse("invoicing:invoice-create", kwargs={"company_number": self.administration.company_number})
        return reverse(
            "invoicing:invoice-edit",
            kwargs={"company_number": self.administration.company_number, "invoice_pk": self.invoice.pk},
        )

    def _forms(self, data=None, initial=None):
        form = InvoiceForm(
            data, instance=self.instance, initial=initial, administration=self.administration, profile=self.profile
        )
        formset = InvoiceLineFormSet(data, instance=self.instance, country=form.chosen_country)
        return form, formset

    def respond(self):
        if self.request.method == "GET":
            self.form, self.formset = self._forms(initial=self._initial() if self.creating else None)
            return self.render()
        data = self.request.POST.copy()
        action, _sep, argument = (data.get("action") or "save").partition(":")
        action = action if action in PARTIALS or action == "recalculate" else "refresh"
        self._prepare(action, argument, data)
        self.data = data
        self.form, self.formset = self._forms(data)
        if action == "recalculate":
            self._validate(quietly=True)
            return self.render("recalculated")
        if action == "save":
            return self.save()
        self._validate(quietly=True)
        if action == "add-line" and self.formset.forms:
            self.formset.forms[-1].fields["description"].widget.attrs["autofocus"] = True
        return self.render(PARTIALS[action])

    def _initial(self) -> dict:
        initial = {
            "issue_date": timezone.localdate(),
            "currency": self.profile.default_currency,
            "iban": self.profile.iban,
            "bic": self.profile.bic,
            "language": author_language(self.request),
        }
        if self.request.GET.get("type") in Invoice.DocumentType.values:
            initial["document_type"] = self.request.GET["type"]
        return initial

    def _prepare(self, action: str, argument: str, data) -> None:
        """Changes the posted data as the action asks, before the forms are bound to it."""
        total_key = f"{LINES_PREFIX}-TOTAL_FORMS"
        try:
            total = int(data.get(total_key, ""))
        except ValueError:
            total = None
        if action == "add-line" and total is not None:
            if total < MAX_LINES:
                data[total_key] = str(total + 1)
                # The new line starts as the first one does, with the model's default unit (EA).
                data.setdefault(f"{LINES_PREFIX}-{total}-unit", InvoiceLine._meta.get_field("unit").default)
            else:
                too_many = InvoiceLineFormSet.default_error_messages["too_many_forms"]
                messages.warning(self.request, too_many % {"num": MAX_LINES})
        elif action == "remove-line" and total is not None and is_number(argument) and int(argument) < total:
            data[f"{LINES_PREFIX}-{argument}-DELETE"] = "on"
            self.focus = "add-line"
        elif action == "find-buyer":
            query = data.get("buyer_query", "").strip()[:QUERY_LENGTH]
            self.searched = bool(query)
            if query:
                self.suggestions = buyers.buyer_suggestions(
                    user=self.request.user, administration=self.administration, query=query
                )
        elif action == "use-buyer":
            self._use_buyer(argument, data)
        elif action == "refresh" and data.get("country") in DestinationCountry.values:
            # A buyer in the destination country is the usual case: a head start, never an overwrite.
            for name in ("buyer_country", "buyer_tax_id_country"):
                if not data.get(name):
                    data[name] = data["country"]

    def _use_buyer(self, key: str, data) -> None:
        fields = buyers.buyer_fields(key, user=self.request.user, administration=self.administration) if key else None
        if fields is None:
            self.notice = _("That buyer is not among this administration's buyers: nothing was filled in.")
            return
        names = set(InvoiceForm.base_fields)
        for name, value in fields.items():
            if name in names:
                data[name] = value.pk if isinstance(value, models.Model) else ("" if value is None else str(value))
        data["buyer_query"] = ""
        self.focus = "buyer_name"

    def _validate(self, *, quietly: bool) -> bool:
        valid = all([self.form.is_valid(), self.formset.is_valid()])
        if quietly:
            for form in (self.form, *self.formset.forms):
                quiet(form)
            self.formset._errors = [form.errors for form in self.formset.forms]
            self.formset._non_form_errors = self.formset.error_class()
        return valid

    def save(self):
        valid = self._validate(quietly=False)
        line_forms = self.formset.kept_forms
        if valid:
            invoice, lines = self.form.save(commit=False), [form.instance for form in line_forms]
        else:
            # The rules run on what did clean too, so that every problem shows at once, not in rounds.
            invoice, lines = cleaned_copy(self.form), [cleaned_copy(form) for form in line_forms]
        services.supplier_copy(invoice, self.profile)
        typed_number = invoice.invoice_number
        # The rules see the number the invoice will get; it is allocated when the invoice is saved.
        invoice.invoice_number = typed_number or self.form.suggested_number
        problems = rules.invoice_problems(invoice, lines)
        invoice.invoice_number = typed_number
        if problems or not valid:
            attach_problems(problems, self.form, line_forms)
            return self.render(PARTIALS["save"])
        try:
            if self.creating:
                invoice = services.invoice_create(
                    administration=self.administration, author=self.request.user, invoice=invoice, lines=lines
                )
            else:
                invoice = services.invoice_update(
                    invoice=invoice,
                    editor=self.request.user,
                    expected_version=self.form.cleaned_data.get("version"),
                    lines=lines,
                )
        except services.InvoiceNumberTaken:
            self.form.add_error(
                "invoice_number",
                _("Invoice %(number)s was just saved by someone else; choose another number or leave it empty.")
                % {"number": typed_number},
            )
            return self.render(PARTIALS["save"])
        except services.InvoiceConflict:
            latest = self.administration.invoices.filter(pk=self.invoice.pk).values_list("version", flat=True).first()
            # The page keeps what the user typed; saving it again, now knowingly, replaces the latest version.
            self.conflict_version = latest
            return self.render(PARTIALS["save"], status=409 if not wants_partial(self.request) else 200)
        done = _("Draft %(number)s saved.") if self.creating else _("Your changes to %(number)s are saved.")
        messages.success(self.request, done % {"number": invoice.invoice_number})
        return _go(self.request, _detail_url(invoice))

    def _totals(self):
        def values(form):
            if not form.is_bound:
                return form.instance
            data = getattr(form, "cleaned_data", {})
            return SimpleNamespace(
                quantity=data.get("quantity"), unit_price=data.get("unit_price"), tax_code=data.get("tax_code")
            )

        shown = [(index, form) for index, form in enumerate(self.formset.forms) if not self.formset.is_removed(form)]
        result = totals.compute(self.form.chosen_country, [values(form) for _index, form in shown])
        rows = [
            SimpleNamespace(form=form, index=index, number=number, amount=amount)
            for number, ((index, form), amount) in enumerate(zip(shown, result.lines, strict=True), start=1)
        ]
        return result, rows

    def render(self, partial: str | None = None, status: int = 200):
        if self.focus and self.focus in self.form.fields:
            self.form.fields[self.focus].widget.attrs["autofocus"] = True
        computed, line_rows = self._totals()
        version = self.conflict_version if self.conflict_version is not None else self.form["version"].value()
        context = {
            "administration": self.administration,
            "profile": self.profile,
            "supplier_tax_id": identifiers.tax_id_shown(self.profile.tax_id, self.profile.tax_id_country),
            "form": self.form,
            "formset": self.formset,
            "invoice": self.invoice,
            "creating": self.creating,
            "form_url": self.url,
            "totals": computed,
            "line_rows": line_rows,
            "removed_forms": [form for form in self.formset.forms if self.formset.is_removed(form)],
            "currency": self.form["currency"].value() or self.profile.default_currency,
            "suggestions": self.suggestions,
            "searched": self.searched,
            "buyer_query": self.data.get("buyer_query", "") if self.data else "",
            "notice": self.notice,
            "focus": self.focus,
            "conflict": self.conflict_version is not None,
            "version": version,
        }
        if partial and wants_partial(self.request):
            return render(self.request, f"{EDITOR_TEMPLATE}#{partial}", context, status=status)
        return render(self.request, EDITOR_TEMPLATE, context, status=status)


def plain_number(value: Decimal, decimals: int = 0) -> str:
    """`value` in the reader's locale with the decimals it has (at least `decimals`): 1,5 not 1,500000."""
    value = value.normalize()
    if -value.as_tuple().exponent < decimals:
        value = value.quantize(Decimal(1).scaleb(-decimals))
    return formats.number_format(value, use_l10n=True, force_grouping=True)


def vat_shown(country: str, tax_code: str) -> str:
    """A line's VAT as the preview shows it: the code and its rate, "S · 22 %" ("AB · 5,5 %" in nl and fr)."""
    rate = rates.rate_for(country, tax_code)
    if rate is None:
        return tax_code
    return f"{tax_code} · {plain_number(rate)}\u00a0%"


@require_GET
def invoice_detail(request, company_number, invoice_pk):
    """The invoice as its buyer will read it, and the exact payload that will be sent to Clearvo."""
    invoice = _invoice(request, invoice_pk)
    prefetch_related_objects([invoice], "lines")  # read once, for the page and for the payload
    lines = list(invoice.lines.all())
    computed = totals.compute(invoice.country, lines)
    context = {
        "administration": request.administration,
        "invoice": invoice,
        "line_rows": [
            SimpleNamespace(
                line=line,
                amount=amount,
                quantity=plain_number(line.quantity),
                unit_price=plain_number(line.unit_price, 2),
                vat=vat_shown(invoice.country, line.tax_code),
            )
            for line, amount in zip(lines, computed.lines, strict=True)
        ],
        "totals": computed,
        "supplier_tax_id": identifiers.tax_id_shown(invoice.supplier_tax_id, invoice.supplier_tax_id_country),
        "iban": identifiers.iban_shown(invoice.iban),
        "payload": payload.payload_bytes(invoice).decode(),
        "timeline": selectors.invoice_timeline(invoice=invoice),
    }
    return render(request, DETAIL_TEMPLATE, context)


@require_GET
def invoice_payload_json(request, company_number, invoice_pk):
    invoice = _invoice(request, invoice_pk)
    response = HttpResponse(payload.payload_bytes(invoice), content_type="application/json")
    filename = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in invoice.invoice_number)
    response["Content-Disposition"] = f'attachment; filename="clearvo-{filename or invoice.pk}.json"'
    return response
