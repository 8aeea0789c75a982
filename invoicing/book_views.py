"""The invoice page's part on its way into the books (asked again while it moves)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from invoicing import books
from portal.htmx import wants_partial

TEMPLATE = "invoicing/book_filing.html"


@require_GET
def invoice_book_filing(request, company_number, invoice_pk):
    """The handover's state; HTTP 286 (polling stops) once it no longer changes by itself."""
    invoice = get_object_or_404(request.administration.invoices, pk=invoice_pk)
    if not wants_partial(request):
        kwargs = {"company_number": company_number, "invoice_pk": invoice.pk}
        return redirect(reverse("invoicing:invoice-detail", kwargs=kwargs))
    handover = books.invoice_handover(invoice)
    context = {"administration": request.administration, "invoice": invoice, "handover": handover}
    html = render_to_string(TEMPLATE, context, request=request)
    response = HttpResponse(html) if handover.live else HttpResponseStopPolling(html)
    patch_vary_headers(response, ["HX-Request"])
    patch_cache_control(response, private=True, no_cache=True)
    return response
