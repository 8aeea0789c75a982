"""Uploading documents into Clearfacts, following them, and acting on those that need it."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from clearfacts_app import documents, selectors
from clearfacts_app.models import Document
from clearfacts_app.pages import document_list_context, has_scope, missing_scope_message, read_clearfacts
from clearfacts_app.roles import Action, requires
from clearfacts_app.uploads import Refusal, check_upload, parse_upload
from portal.htmx import wants_partial

LIST_TEMPLATE = "clearfacts_app/documents.html"
UPLOAD_TEMPLATE = "clearfacts_app/document_upload.html"


uploaders_only = requires(
    Action.UPLOAD,
    refusal=gettext_lazy("Your role on this administration lets you look at documents, not upload or change them."),
)


class UploadForm(forms.Form):
    destination = forms.ChoiceField(
        label=gettext_lazy("Send to"),
        choices=Document.Destination.choices,
        widget=forms.RadioSelect,
        initial=Document.Destination.INBOX,
    )
    invoice_type = forms.ChoiceField(
        label=gettext_lazy("Invoice type"),
        choices=Document.InvoiceType.choices,
        required=False,
        initial=Document.InvoiceType.PURCHASE,
    )
    archive_type = forms.ChoiceField(
        label=gettext_lazy("Archive"),
        choices=Document.ArchiveType.choices,
        required=False,
        initial=Document.ArchiveType.VARIOUS,
    )
    # Checked in clean() against the categories of the chosen archive; it offers only those.
    archive_category = forms.CharField(label=gettext_lazy("Category"), required=False, widget=forms.Select)

    def __init__(self, *args, categories: dict | None, can_inbox: bool, archive_problem: str | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = categories or {"various": [], "permanent": []}
        self.can_inbox, self.archive_problem = can_inbox, archive_problem
        self.fields["archive_category"].widget.choices = [("", "—")] + [
            (category["id"], category["name"]) for category in self.categories[self.archive_kind()]
        ]

    def archive_kind(self) -> str:
        """Which archive's categories apply: the chosen one, or the one chosen by default."""
        chosen = self["archive_type"].value()
        return "permanent" if chosen == Document.ArchiveType.PERMANENT else "various"

    def category(self) -> dict | None:
        """The chosen category, if it belongs to the chosen archive."""
        chosen = self.cleaned_data.get("archive_category")
        return next((c for c in self.categories[self.archive_kind()] if c["id"] == chosen), None)

    def _category_error(self) -> str:
        chosen = self.cleaned_data.get("archive_category")
        known = {c["id"] for kind in ("various", "permanent") for c in self.categories[kind]}
        if chosen and chosen not in known:
            return _("This category is not in Clearfacts (any more); reload the page and choose another one.")
        return _("Choose a category of that archive.")

    def clean(self):
        data = super().clean()
        if data.get("destination") == Document.Destination.INBOX:
            if not self.can_inbox:
                raise forms.ValidationError(missing_scope_message("upload_document"))
            if not data.get("invoice_type"):
                self.add_error("invoice_type", _("Choose purchase or sale."))
        elif data.get("destination") == Document.Destination.ARCHIVE:
            if self.archive_problem:
                raise forms.ValidationError(self.archive_problem)
            if not data.get("archive_type"):
                self.add_error("archive_type", _("Choose the various or the permanent archive."))
            elif self.category() is None:
                self.add_error("archive_category", self._category_error())
        return data


def _archive_categories(request):
    """The archive categories, and why the archive cannot be chosen (None when it can)."""
    if not has_scope(request, "archive_read"):
        return None, missing_scope_message("archive_read")
    categories, problem = read_clearfacts(
        request,
        "archive_read",
        lambda refresh: selectors.archive_categories(user=request.user, administration=request.administration),
    )
    if problem:
        return None, " ".join(
            [
                _("The archive categories could not be loaded from Clearfacts."),
                problem,
                _("Uploading to the inbox still works; reload the page to try the archive again."),
            ]
        )
    if not has_scope(request, "archive_actions"):
        return categories, missing_scope_message("archive_actions")
    return categories, None


@csrf_exempt  # checked by _upload below, once our parser has read the files (uploads.parse_upload)
@require_http_methods(["GET", "POST"])
@uploaders_only
def document_upload(request, company_number):
    if request.method == "GET":
        return _upload(request, [])
    received = parse_upload(request)
    if not received.readable:
        # Nothing could be read, so nothing is done: the form again, with why (no CSRF token to check).
        form = UploadForm(**_form_options(request))
        return _upload_page(request, form, [], received.refusals, status=400, page_status=400)
    return _upload(request, received.refusals)


def _form_options(request) -> dict:
    categories, archive_problem = _archive_categories(request)
    return {
        "categories": categories,
        "can_inbox": has_scope(request, "upload_document"),
        "archive_problem": archive_problem,
    }


@csrf_protect
def _upload(request, refusals: list[Refusal]):
    if request.method == "GET":
        # The archive type may come from the page (HTMX), to list that archive's categories.
        form = UploadForm(initial=request.GET.dict(), **_form_options(request))
        if wants_partial(request):
            return render(request, f"{UPLOAD_TEMPLATE}#category_field", {"form": form})
        return _upload_page(request, form, [], refusals)
    form = UploadForm(request.POST, **_form_options(request))
    accepted: list[Document] = []
    files = request.FILES.getlist("files")
    if not files and not refusals:
        form.add_error(None, _("Choose at least one file."))
    if form.is_valid():
        for uploaded in files:
            kind = check_upload(uploaded)
            if isinstance(kind, Refusal):
                refusals.append(kind)
                continue
            data = form.cleaned_data
            accepted.append(
                documents.document_create(
                    administration=request.administration,
                    uploaded_by=request.user,
                    filename=uploaded.name,
                    content=uploaded,
                    sha256=uploaded.sha256,  # computed by uploads.HashingUploadHandler as the file arrived
                    kind=kind,
                    destination=data["destination"],
                    invoice_type=data["invoice_type"],
                    archive_type=data["archive_type"],
                    archive_category=form.category() if data["destination"] == Document.Destination.ARCHIVE else None,
                )
            )
    # When the form is refused, none of the files was kept: the problems name them.
    not_kept = [] if form.is_valid() else [uploaded.name for uploaded in files]
    return _upload_page(request, form, accepted, refusals, not_kept=not_kept, status=200 if form.is_valid() else 400)


def _upload_page(request, form, accepted, refusals, *, not_kept=(), status=200, page_status=200):
    """The upload page, or (HTMX) its results; a refused form is shown again as it was with 200."""
    context = {
        "administration": request.administration,
        "form": form,
        "archive_problem": form.archive_problem,
        "accepted": accepted,
        "refusals": refusals,
        "not_kept": not_kept,
        "max_upload": settings.DOCUMENT_MAX_UPLOAD_BYTES,
    }
    if wants_partial(request) and request.method == "POST":
        return render(request, f"{UPLOAD_TEMPLATE}#results", context, status=status)
    return render(request, UPLOAD_TEMPLATE, context, status=page_status)


@require_GET
def document_list(request):
    """Documents of every administration the user may see."""
    context = document_list_context(Document.objects.visible_to(request.user), request.GET)
    return render(request, LIST_TEMPLATE, context)


def _document(request, document_pk) -> Document:
    return get_object_or_404(request.administration.documents.select_related("uploaded_by"), pk=document_pk)


# Clearfacts' enumerations on a document, with the labels people read.
CLEARFACTS_ENUMERATIONS = {
    "type": Document.InvoiceType,
    "paymentState": Document.PaymentState,
    "archiveType": Document.ArchiveType,
}


def clearfacts_labels(remote: dict) -> dict:
    """The translated label of each enumeration value on a Clearfacts document (a new value as it came)."""
    labels = {}
    for field, choices in CLEARFACTS_ENUMERATIONS.items():
        value = remote.get(field)
        if value:
            labels[field] = choices(value).label if value in choices.values else value
    return labels


@require_GET
def document_detail(request, company_number, document_pk):
    document = _document(request, document_pk)
    remote, problem = None, None
    if document.is_sent:
        remote, problem = read_clearfacts(
            request,
            "upload_document",
            lambda refresh: selectors.document(user=request.user, uuid=document.clearfacts_uuid, refresh=refresh),
        )
    context = {"administration": request.administration, "document": document, "remote": remote, "problem": problem}
    if remote:
        context["remote_labels"] = clearfacts_labels(remote)
    return render(request, "clearfacts_app/document_detail.html", context)


@require_GET
def document_status(request, company_number, document_pk):
    """One document's row; polled by the page until the status is final (then HTTP 286 stops it)."""
    document = _document(request, document_pk)
    context = {"document": document, "show_administration": request.GET.get("with_administration") == "1"}
    html = render_to_string(f"{LIST_TEMPLATE}#document_row", context, request=request)
    return HttpResponseStopPolling(html) if document.is_final else HttpResponse(html)


ACTIONS = {
    "retry": (documents.document_retry, gettext_lazy("The document is queued to be sent again.")),
    "send": (documents.document_send_anyway, gettext_lazy("The document is queued to be sent.")),
    "cancel": (documents.document_cancel, gettext_lazy("The document was cancelled.")),
}


@require_POST
@uploaders_only
def document_action(request, company_number, document_pk, action):
    document = _document(request, document_pk)
    do, done = ACTIONS[action]
    if do(document=document, actor=request.user):
        messages.success(request, done)
    else:
        messages.warning(request, _("This cannot be done in the document's current state."))
    return redirect("clearfacts_app:document-detail", company_number=company_number, document_pk=document.pk)
