"""The evidence pack downloaded (invoicing.evidence): one invoice from its page, the invoices chosen on a
list, or a period's.

Reading is enough: whoever sees an invoice may take its evidence. The invoices are looked up
through the administrations the person may read, so another tenant's id is simply not found (a
404 for the one-click address, left out of a selection). A pack is streamed as it is written;
one of a selection or a period holds at most LIMIT invoices.
"""

import logging
from collections import defaultdict

from django.contrib import messages
from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from clearfacts_app.activity import activity_record
from clearfacts_app.models import Administration
from clearfacts_app.roles import Action, checks_each_row, may_each, requires
from invoicing import evidence
from invoicing.evidence_forms import EvidencePeriodForm
from invoicing.models import Invoice
from portal.parsing import is_number

PERIOD_TEMPLATE = "invoicing/evidence_pack.html"
logger = logging.getLogger(__name__)
LIMIT = 2000

readers_only = requires(
    Action.READ, refusal=gettext_lazy("Your role on this administration does not let you see its invoices.")
)


def _readable_invoices(user):
    """The invoices that left draft of the administrations `user` may read (the roles from one query)."""
    visible = Administration.objects.visible_to(user).values_list("pk", flat=True)
    readable = [pk for pk, may in may_each(user, visible).items() if may.read]
    return Invoice.objects.filter(administration__in=readable).exclude(status=Invoice.Status.DRAFT)


def _logged(stream):
    """The pack's bytes; a failure halfway is logged and ends the download unfinished (the status line
    is gone: the browser sees a broken download, never a ZIP that looks whole)."""
    try:
        yield from stream
    except Exception:
        logger.exception("evidence pack: stopped halfway")
        raise


def evidence_download_record(user, invoices) -> None:
    """The audit log keeps who took which records out: a row per administration of the pack."""
    per_administration = defaultdict(list)
    for pk, administration_id, number in invoices.values_list("pk", "administration_id", "invoice_number"):
        per_administration[administration_id].append((pk, number))
    administrations = Administration.objects.in_bulk(per_administration)
    with transaction.atomic():
        for administration_id, rows in per_administration.items():
            if len(rows) == 1:
                action, data = "invoice.evidence_downloaded", {"invoice": rows[0][0], "number": rows[0][1]}
            else:
                invoice_ids = [pk for pk, _number in rows]
                action, data = "invoices.evidence_downloaded", {"count": len(rows), "invoices": invoice_ids}
            activity_record(administration=administrations[administration_id], actor=user, action=action, data=data)


def _zip_response(stream, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_logged(stream), content_type=evidence.CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
@readers_only
def invoice_evidence(request, company_number, invoice_pk):
    """One invoice's evidence pack, in one click from its page."""
    invoice = get_object_or_404(request.administration.invoices, pk=invoice_pk)
    if invoice.is_editable:
        messages.info(request, _("A draft has no evidence yet: the pack is made once the invoice is submitted."))
        return redirect("invoicing:invoice-detail", company_number=company_number, invoice_pk=invoice.pk)
    evidence_download_record(request.user, Invoice.objects.filter(pk=invoice.pk))
    stream = evidence.evidence_stream(
        invoices=Invoice.objects.filter(pk=invoice.pk),
        generated_by=request.user,
        selection={"invoices": [invoice.pk]},
    )
    name = evidence.path_part(f"{company_number}-{invoice.invoice_number}", str(invoice.pk))
    return _zip_response(stream, f"evidence-{name}.zip")


@require_GET
def invoice_evidence_period(request):
    """The page that asks for a period (and an administration, a status); its form downloads the pack."""
    bound = bool(request.GET)
    form = EvidencePeriodForm(request.GET if bound else None, user=request.user)
    if bound:
        form.is_valid()  # a download refused for its input comes back here, with the reasons
    return render(request, PERIOD_TEMPLATE, {"form": form, "limit": LIMIT})


def _chosen_ids(request) -> list[int]:
    return sorted({int(value) for value in request.POST.getlist("invoice") if is_number(value) and len(value) <= 18})


def _back(request) -> str:
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return url
    return reverse("invoicing:invoice-list")


@require_http_methods(["GET", "POST"])
@checks_each_row(Action.READ)
def invoice_evidence_download(request):
    """GET: a period's pack (the form of invoice_evidence_period); POST: the invoices chosen on a list."""
    if request.method == "POST":
        return _selection_download(request)
    form = EvidencePeriodForm(request.GET, user=request.user)
    form_page = f"{reverse('invoicing:invoice-evidence-bulk')}?{request.GET.urlencode()}"
    if not form.is_valid():
        messages.error(request, _("The evidence pack was not made: correct the period below."))
        return redirect(form_page)
    values = form.cleaned_data
    invoices = _readable_invoices(request.user).filter(
        issue_date__gte=values["issued_from"], issue_date__lte=values["issued_to"], status__in=form.statuses()
    )
    if values["company"] is not None:
        invoices = invoices.filter(administration=values["company"])
    count = invoices.count()
    if not count:
        messages.warning(request, _("No invoice matches this period: there is nothing to put in a pack."))
        return redirect(form_page)
    if count > LIMIT:
        messages.error(
            request,
            _("%(count)d invoices match: a pack holds at most %(limit)d. Narrow the period.")
            % {"count": count, "limit": LIMIT},
        )
        return redirect(form_page)
    period = f"{values['issued_from']:%Y-%m-%d}-{values['issued_to']:%Y-%m-%d}"
    selection = {
        "administration": values["company"].company_number if values["company"] else "",
        "issuedFrom": values["issued_from"].isoformat(),
        "issuedTo": values["issued_to"].isoformat(),
        "status": values["status"],
    }
    evidence_download_record(request.user, invoices)
    stream = evidence.evidence_stream(invoices=invoices, generated_by=request.user, selection=selection)
    company = values["company"].company_number if values["company"] else "all"
    return _zip_response(stream, f"evidence-{evidence.path_part(company, 'all')}-{period}.zip")


def _selection_download(request):
    back = _back(request)
    chosen = _chosen_ids(request)
    if not chosen:
        messages.error(request, _("Choose the invoices whose evidence you want."))
        return redirect(back)
    if len(chosen) > LIMIT:
        messages.error(request, _("At most %(limit)d invoices fit in one evidence pack.") % {"limit": LIMIT})
        return redirect(back)
    # Only what the person may read, and only invoices that left draft: other ids are not found, silently.
    invoices = _readable_invoices(request.user).filter(pk__in=chosen)
    found = sorted(invoices.values_list("pk", flat=True))
    if not found:
        messages.error(request, _("None of the chosen invoices has evidence you can see."))
        return redirect(back)
    evidence_download_record(request.user, invoices)
    stream = evidence.evidence_stream(invoices=invoices, generated_by=request.user, selection={"invoices": found})
    return _zip_response(stream, f"evidence-{timezone.now():%Y-%m-%d-%H%M%S}.zip")
