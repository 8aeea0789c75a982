"""Four-eyes approval on the invoice page: sending a draft for review, and approving the version shown.

Both answer an HTMX post with the Review box (and, out of band, the page's actions, whose Submit
button depends on the approval), and a plain post with a redirect to the invoice page and a message.
"""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from clearfacts_app.roles import Action, requires
from invoicing import reviews
from invoicing.models import Invoice
from portal.htmx import wants_partial

REVIEW_TEMPLATE = "invoicing/invoice_review.html"
DETAIL_TEMPLATE = "invoicing/invoice_detail.html"


class ReviewRequestForm(forms.Form):
    """The version the page showed, and the colleague chosen (an id, looked up among the eligible)."""

    version = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    reviewer = forms.IntegerField(min_value=1, max_value=2**63 - 1)


class ApproveForm(forms.Form):
    version = forms.IntegerField(min_value=1, max_value=2**31 - 1)


def _invoice(request, invoice_pk) -> Invoice:
    return get_object_or_404(request.administration.invoices.select_related("administration"), pk=invoice_pk)


def _answer(request, invoice: Invoice, *, error: str = "", success: str = ""):
    """The Review box (and the page's actions, out of band) for HTMX; else back to the invoice page."""
    if wants_partial(request):
        invoice = request.administration.invoices.select_related("administration").get(pk=invoice.pk)
        context = {
            "administration": request.administration,
            "invoice": invoice,
            "review_error": error,
            "review_success": success,
            "oob": True,
        }
        box = render_to_string(REVIEW_TEMPLATE, context, request=request)
        actions = render_to_string(f"{DETAIL_TEMPLATE}#invoice_actions", context, request=request)
        return HttpResponse(box + actions)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, success)
    url = reverse(
        "invoicing:invoice-detail",
        kwargs={"company_number": request.administration.company_number, "invoice_pk": invoice.pk},
    )
    return redirect(f"{url}#invoice-review")


@require_POST
@requires(Action.REQUEST_REVIEW, refusal=gettext_lazy("Only people who draft invoices can send them for review."))
def invoice_review_request(request, company_number, invoice_pk):
    invoice = _invoice(request, invoice_pk)
    form = ReviewRequestForm(request.POST)
    if not form.is_valid():
        return _answer(request, invoice, error=_("Choose the colleague who reviews the invoice."))
    # Looked up among the people who may approve it here: an id of anyone else is refused, never used.
    eligible = {person.pk: person for person in reviews.reviewers_eligible(invoice)}
    reviewer = eligible.get(form.cleaned_data["reviewer"])
    if reviewer is None:
        return _answer(
            request, invoice, error=_("That person cannot review this invoice: choose a colleague from the list.")
        )
    try:
        reviews.invoice_review_request(
            invoice=invoice, actor=request.user, reviewer=reviewer, expected_version=form.cleaned_data["version"]
        )
    except reviews.ReviewRefused as refusal:
        return _answer(request, invoice, error=refusal.message)
    return _answer(
        request,
        invoice,
        success=_("%(number)s was sent to %(name)s for review.") % {"number": invoice.invoice_number, "name": reviewer},
    )


@require_POST
@requires(Action.APPROVE, refusal=gettext_lazy("Only approvers can approve invoices."))
def invoice_approve(request, company_number, invoice_pk):
    """Approves the version the page showed; a page showing an older version approves nothing."""
    invoice = _invoice(request, invoice_pk)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        stale = _("The page was out of date: check the invoice below and approve it again.")
        return _answer(request, invoice, error=stale)
    try:
        approval = reviews.invoice_approve(
            invoice=invoice, actor=request.user, expected_version=form.cleaned_data["version"]
        )
    except reviews.ReviewRefused as refusal:
        return _answer(request, invoice, error=refusal.message)
    return _answer(
        request,
        invoice,
        success=_("Version %(version)d of %(number)s is approved: it can be submitted.")
        % {"version": approval.invoice_version, "number": invoice.invoice_number},
    )
