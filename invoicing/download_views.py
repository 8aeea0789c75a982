"""An invoice's documents for its buyer: the PDF and the UBL downloaded, or both e-mailed to the buyer.

Only invoices that left draft have them: a draft's number and content may still change. Anyone
who sees the invoice may download; e-mailing sends it out, so it is for those who may submit.
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from clearfacts_app.roles import Action, requires
from invoicing import buyer_mail, pdf, ubl
from invoicing.models import Invoice


def _invoice(request, invoice_pk) -> Invoice:
    return get_object_or_404(
        request.administration.invoices.select_related("administration", "buyer", "original_invoice"), pk=invoice_pk
    )


def _back(invoice: Invoice):
    return redirect(
        "invoicing:invoice-detail", company_number=invoice.administration.company_number, invoice_pk=invoice.pk
    )


def _draft_refused(request, invoice: Invoice):
    messages.info(request, _("A draft has no PDF or UBL yet: they are made once the invoice is submitted."))
    return _back(invoice)


def _attachment(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
def invoice_pdf_download(request, company_number, invoice_pk):
    invoice = _invoice(request, invoice_pk)
    if invoice.is_editable:
        return _draft_refused(request, invoice)
    return _attachment(pdf.invoice_pdf(invoice), content_type=pdf.CONTENT_TYPE, filename=pdf.pdf_filename(invoice))


@require_GET
def invoice_ubl_download(request, company_number, invoice_pk):
    invoice = _invoice(request, invoice_pk)
    if invoice.is_editable:
        return _draft_refused(request, invoice)
    return _attachment(ubl.invoice_ubl(invoice), content_type=ubl.UBL_CONTENT_TYPE, filename=ubl.ubl_filename(invoice))


@require_POST
@requires(Action.SUBMIT, refusal=gettext_lazy("Your role on this administration does not let you send its invoices."))
def invoice_email_buyer(request, company_number, invoice_pk):
    """Sends the PDF and the UBL to the buyer's address-book e-mail (by a task); says why not when it cannot."""
    invoice = _invoice(request, invoice_pk)
    if invoice.is_editable:
        return _draft_refused(request, invoice)
    try:
        sending = buyer_mail.invoice_email_request(invoice=invoice, user=request.user)
    except buyer_mail.NoAddress as problem:
        messages.error(request, str(problem))
        return _back(invoice)
    messages.success(
        request,
        _("The PDF and the UBL are on their way to %(email)s.") % {"email": sending.data["to"]},
    )
    return _back(invoice)
