"""A number the tax authority already had: adopting the earlier outcome, or issuing a new number.

Both ask first (GET: a page that says what will happen), then act when its form posts. What the
invoice's state no longer allows is said in a message on the invoice's page, and nothing changes.
"""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from clearfacts_app.roles import Action, requires
from invoicing import duplicates
from invoicing.models import Invoice

ADOPT_TEMPLATE = "invoicing/duplicate_adopt.html"
RENUMBER_TEMPLATE = "invoicing/duplicate_renumber.html"

submitters_only = requires(
    Action.SUBMIT,
    refusal=gettext_lazy("Your role on this administration lets you follow invoices, not decide about their numbers."),
)


class AdoptForm(forms.Form):
    """The person's confirmation that the authority's record of the number is this invoice."""

    confirm = forms.BooleanField(required=True)

    def __init__(self, *args, reconciliation: duplicates.Reconciliation, **kwargs):
        super().__init__(*args, **kwargs)
        sent_at = localtime(reconciliation.earlier_sent_at)
        self.fields["confirm"].label = _(
            "I confirm the tax authority's record of number %(number)s is this invoice, sent on %(date)s at "
            "%(time)s by %(name)s."
        ) % {
            "number": reconciliation.number,
            "date": formats.date_format(sent_at, "SHORT_DATE_FORMAT"),
            "time": formats.time_format(sent_at, "H:i"),
            "name": reconciliation.earlier_by,
        }
        self.fields["confirm"].error_messages["required"] = _("Tick the box to confirm, or go back to the invoice.")


def _invoice(request, invoice_pk) -> Invoice:
    return get_object_or_404(request.administration.invoices.select_related("administration"), pk=invoice_pk)


def _detail(invoice: Invoice, anchor: str = "duplicate-number"):
    url = reverse(
        "invoicing:invoice-detail",
        kwargs={"company_number": invoice.administration.company_number, "invoice_pk": invoice.pk},
    )
    return redirect(f"{url}#{anchor}" if anchor else url)


def _not_waiting(request, invoice: Invoice):
    messages.error(
        request,
        _("Invoice %(number)s is not waiting for a decision about a duplicate number (it is %(status)s).")
        % {"number": invoice.invoice_number, "status": invoice.get_status_display().lower()},
    )
    return _detail(invoice, "")


@require_http_methods(["GET", "POST"])
@submitters_only
def duplicate_adopt(request, company_number, invoice_pk):
    """The authority holds this very invoice from an earlier send: the person confirms, the invoice is accepted."""
    invoice = _invoice(request, invoice_pk)
    reconciliation = duplicates.duplicate_reconciliation(invoice)
    if reconciliation is None or not reconciliation.can_adopt:
        return _not_waiting(request, invoice)
    form = AdoptForm(request.POST if request.method == "POST" else None, reconciliation=reconciliation)
    if request.method == "POST" and form.is_valid():
        try:
            duplicates.duplicate_adopt(
                submission=reconciliation.submission, user=request.user, confirmed=form.cleaned_data["confirm"]
            )
        except duplicates.DecisionRefused as refusal:
            messages.error(request, str(refusal))
            return _detail(invoice, "")
        messages.success(
            request,
            _("Invoice %(number)s is accepted: the tax authority's record of its number is this invoice.")
            % {"number": invoice.invoice_number},
        )
        return _detail(invoice, "timeline")
    context = {"administration": request.administration, "invoice": invoice, "dup": reconciliation, "form": form}
    return render(request, ADOPT_TEMPLATE, context)


@require_http_methods(["GET", "POST"])
@submitters_only
def duplicate_renumber(request, company_number, invoice_pk):
    """A different invoice already used the number: the invoice becomes a draft with the next number."""
    invoice = _invoice(request, invoice_pk)
    reconciliation = duplicates.duplicate_reconciliation(invoice)
    if reconciliation is None or not reconciliation.can_renumber:
        return _not_waiting(request, invoice)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            renumbered = duplicates.duplicate_renumber(invoice=invoice, user=request.user)
        except duplicates.DecisionRefused as refusal:
            messages.error(request, str(refusal))
            return _detail(invoice, "")
        messages.success(
            request,
            _("The invoice is now draft %(number)s (it was %(old)s): check it, then submit it.")
            % {"number": renumbered.invoice_number, "old": invoice.invoice_number},
        )
        return _detail(renumbered, "")
    context = {
        "administration": request.administration,
        "invoice": invoice,
        "dup": reconciliation,
        "next_number": duplicates.next_number(invoice),
    }
    return render(request, RENUMBER_TEMPLATE, context)
