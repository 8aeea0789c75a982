"""Clearance in the pages: submitting (one invoice or several), the timeline, a held send's actions,
fixing a rejected invoice, and the clearance record as JSON.

The sending and the polling happen in Celery tasks (invoicing.submissions, invoicing.polling);
these views only ask for them and show what the tasks stored. The timeline is a partial of the
invoice page that asks again every second while anything can still change, and gets HTTP 286
(stop polling) once everything is final or waiting for a person.
"""

import json
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from clearfacts_app.roles import Action, checks_each_row, may_each, requires
from invoicing import selectors, services, submissions
from invoicing.clearance_forms import BulkSubmitForm, SubmitForm
from invoicing.models import Invoice, Submission
from portal.htmx import wants_partial

DETAIL_TEMPLATE = "invoicing/invoice_detail.html"
LIST_TEMPLATE = "invoicing/invoice_list.html"
BULK_TEMPLATE = "invoicing/bulk_submit.html"

submitters_only = requires(
    Action.SUBMIT,
    refusal=gettext_lazy("Your role on this administration lets you follow invoices, not submit them."),
)
drafters_only = requires(
    Action.DRAFT,
    refusal=gettext_lazy("Your role on this administration lets you follow invoices, not change them."),
)


def _invoice(request, invoice_pk) -> Invoice:
    return get_object_or_404(request.administration.invoices.select_related("administration"), pk=invoice_pk)


def _submission(request, submission_pk) -> Submission:
    submissions_here = Submission.objects.filter(invoice__administration=request.administration)
    return get_object_or_404(submissions_here.select_related("invoice__administration"), pk=submission_pk)


def _detail_url(invoice: Invoice, anchor: str = "") -> str:
    url = reverse(
        "invoicing:invoice-detail",
        kwargs={"company_number": invoice.administration.company_number, "invoice_pk": invoice.pk},
    )
    return f"{url}#{anchor}" if anchor else url


def _go(request, invoice: Invoice, anchor: str = ""):
    """To the invoice's page: a redirect, or for HTMX a client redirect, without the anchor there (a URL
    that differs from the page's only by its fragment would not load the page again, messages and all)."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(_detail_url(invoice))
    return redirect(_detail_url(invoice, anchor))


# --- one invoice ---


@require_POST
@submitters_only
def invoice_submit(request, company_number, invoice_pk):
    """Submits the draft as the page showed it (its version): refused with the reason, or on its way."""
    invoice = _invoice(request, invoice_pk)
    form = SubmitForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The page was out of date: check the invoice below and submit it again."))
        return _go(request, invoice)
    try:
        submissions.invoice_submit(invoice=invoice, user=request.user, expected_version=form.cleaned_data["version"])
    except submissions.SubmitRefused as refusal:
        messages.error(request, str(refusal))
        return _go(request, invoice)
    # No message: the timeline says where it stands, and keeps saying it as that changes.
    return _go(request, invoice, "timeline")


@require_GET
def invoice_timeline(request, company_number, invoice_pk):
    """The timeline partial of the invoice page; HTTP 286 (polling stops) once nothing can change by itself."""
    invoice = _invoice(request, invoice_pk)
    if not wants_partial(request):
        return redirect(_detail_url(invoice, "timeline"))
    timeline = selectors.invoice_timeline(invoice=invoice)
    # `oob`: the answer also carries the header's status, swapped out of band.
    context = {"administration": request.administration, "invoice": invoice, "timeline": timeline, "oob": True}
    html = render_to_string(f"{DETAIL_TEMPLATE}#timeline", context, request=request)
    response = HttpResponseStopPolling(html) if timeline.settled else HttpResponse(html)
    patch_vary_headers(response, ["HX-Request"])
    patch_cache_control(response, private=True, no_cache=True)
    return response


@require_GET
def invoice_status(request, company_number, invoice_pk):
    """An invoice's status badge as the lists show it; HTTP 286 once it no longer changes by itself."""
    invoice = _invoice(request, invoice_pk)
    badge = selectors.invoice_status_badge(invoice)
    if not wants_partial(request):
        return redirect(_detail_url(invoice))
    # A list row's badge (?phone=1) also redraws the copy a phone reads under the number.
    phone = request.GET.get("phone") == "1"
    context = {"invoice": invoice, "badge": badge, "phone": phone, "oob": phone}
    html = render_to_string(f"{LIST_TEMPLATE}#status_badge", context, request=request)
    response = HttpResponse(html) if badge.live else HttpResponseStopPolling(html)
    patch_vary_headers(response, ["HX-Request"])
    patch_cache_control(response, private=True, no_cache=True)
    return response


@require_POST
@drafters_only
def invoice_reopen(request, company_number, invoice_pk):
    """A rejected invoice back to draft, to be fixed and sent again."""
    invoice = _invoice(request, invoice_pk)
    try:
        invoice = services.invoice_reopen(invoice=invoice, user=request.user)
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect(_detail_url(invoice))
    messages.success(
        request,
        _("%(number)s is a draft again: fix what the authority rejected, then submit it again.")
        % {"number": invoice.invoice_number},
    )
    return redirect(
        "invoicing:invoice-edit", company_number=invoice.administration.company_number, invoice_pk=invoice.pk
    )


@require_GET
def invoice_clearance_record(request, company_number, invoice_pk):
    """Every submission of the invoice with its body, key, hash, raw exchanges and events, as a JSON file."""
    invoice = _invoice(request, invoice_pk)
    record = selectors.clearance_record(invoice=invoice)
    response = HttpResponse(
        json.dumps(record, indent=2, ensure_ascii=False, sort_keys=False), content_type="application/json"
    )
    filename = "".join(c if c.isalnum() or c in "-_." else "-" for c in invoice.invoice_number) or str(invoice.pk)
    response["Content-Disposition"] = f'attachment; filename="clearance-{filename}.json"'
    patch_cache_control(response, private=True, no_store=True)
    return response


# --- a held or retrying send: a person decides ---


@require_POST
@submitters_only
def submission_retry(request, company_number, submission_pk):
    """Sends a held or retrying submission again now, with its own key and body (never a new key)."""
    submission = _submission(request, submission_pk)
    if submission.state not in (Submission.State.HELD, Submission.State.RETRYING):
        messages.info(
            request,
            _("Nothing to send again: this send is %(state)s.") % {"state": submission.get_state_display().lower()},
        )
        return redirect(_detail_url(submission.invoice, "timeline"))
    try:
        submissions.submission_retry(submission=submission, user=request.user)
    except submissions.SubmitRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Sent again with the same idempotency key: Clearvo cannot register it twice."))
    return redirect(_detail_url(submission.invoice, "timeline"))


@require_POST
@submitters_only
def submission_release(request, company_number, submission_pk):
    """A person confirms Clearvo does not have the held send: the invoice is a draft again (a new key next time)."""
    submission = _submission(request, submission_pk)
    if submission.state != Submission.State.HELD:
        messages.info(
            request,
            _("Only a held send can be released; this one is %(state)s.")
            % {"state": submission.get_state_display().lower()},
        )
        return redirect(_detail_url(submission.invoice, "timeline"))
    try:
        submissions.submission_release(submission=submission, user=request.user)
    except submissions.SubmitRefused as refusal:
        messages.error(request, str(refusal))
        return redirect(_detail_url(submission.invoice, "timeline"))
    messages.success(
        request,
        _("%(number)s is a draft again; submitting it will send it with a new idempotency key.")
        % {"number": submission.invoice.invoice_number},
    )
    return redirect(_detail_url(submission.invoice))


# --- several drafts at once ---


@dataclass
class BulkResult:
    invoice: Invoice | None
    sent: bool
    reason: str = ""
    badge: selectors.StatusBadge | None = None


def _back(request, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return url
    return reverse("invoicing:invoice-list")


@require_POST
@checks_each_row(Action.SUBMIT)
def invoice_bulk_submit(request):
    """Submits the drafts chosen on a list, each on its own: a page says, per invoice, what happened."""
    form = BulkSubmitForm(request.POST)
    back = _back(request, request.POST.get("next", ""))
    if not form.is_valid():
        for error in form.errors.get("invoice", []):
            messages.error(request, error)
        return redirect(back)
    chosen = form.cleaned_data["invoice"]
    # Looked up through the user's administrations: an id of another tenant is reported as not found, never used.
    found = selectors.visible_invoices(user=request.user).select_related("administration")
    invoices = found.in_bulk([pk for pk, _version in chosen])
    # Each row's administration decides (one query for all): a row the user may not submit is reported, not sent.
    allowed = may_each(request.user, {invoice.administration_id for invoice in invoices.values()})
    results = []
    for pk, version in chosen:
        invoice = invoices.get(pk)
        if invoice is None:
            results.append(BulkResult(None, sent=False, reason=_("Not among the invoices you can see.")))
            continue
        if not allowed[invoice.administration_id].submit:
            reason = _("Your role on %(administration)s does not let you submit its invoices.") % {
                "administration": invoice.administration.name
            }
            results.append(BulkResult(invoice, sent=False, reason=reason))
            continue
        try:
            submissions.invoice_submit(invoice=invoice, user=request.user, expected_version=version)
        except submissions.SubmitRefused as refusal:
            results.append(BulkResult(invoice, sent=False, reason=str(refusal)))
        else:
            results.append(BulkResult(invoice, sent=True))
    # Where each one stands now, as the lists show it (two queries, whatever the number).
    current = found.in_bulk([result.invoice.pk for result in results if result.invoice is not None])
    sending = selectors.unsent_submissions(current.values())
    for result in results:
        if result.invoice is not None:
            result.invoice = current[result.invoice.pk]
            result.badge = selectors.status_badge(result.invoice, sending.get(result.invoice.pk))
    sent = sum(result.sent for result in results)
    refused = len(results) - sent
    summary = ngettext("%(count)d sent", "%(count)d sent", sent) % {"count": sent}
    if refused:
        summary += ", " + ngettext("%(count)d refused", "%(count)d refused", refused) % {"count": refused}
    context = {"results": results, "summary": summary, "sent": sent, "refused": refused, "back": back}
    return render(request, BULK_TEMPLATE, context)
