"""Receiving uploaded files: streamed to disk, hashed on the way, checked before anything is kept.

Each file of a batch is judged on its own: a refused file gets a clear reason and the others
still go through. Nothing is read into memory whole.
"""

import hashlib
import html
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadhandler import SkipFile, StopUpload, TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from clearfacts_app.filetypes import FileKind, FileRefused, inspect

REASONS = {
    "too_large": _("The file is larger than %(limit)s."),
    "batch_too_large": _(
        "The files together are larger than %(batch_limit)s: this file and any after it were not received. "
        "Upload them in another batch."
    ),
    "path_in_name": _("The file name may not contain folders."),
    "unusable_name": _("The file needs a name made of ordinary characters."),
    "empty_file": _("The file is empty."),
    "unsupported_file_type": _("Only PDF, JPEG and XML invoices are accepted; this file is none of them."),
    "unsafe_xml": _("XML files may not contain a DTD or entity declarations."),
    "invalid_xml": _("The XML file is not well-formed."),
    "unsupported_xml": _("XML files must be a UBL invoice or credit note (Peppol BIS Billing 3.0, UBL.BE or E-FFF)."),
}


@dataclass
class Refusal:
    filename: str
    reason: str

    @property
    def message(self) -> str:
        return str(REASONS[self.reason]) % {
            "limit": filesizeformat(settings.DOCUMENT_MAX_UPLOAD_BYTES),
            "batch_limit": filesizeformat(settings.DOCUMENT_MAX_BATCH_BYTES),
        }


class HashingUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler that also computes each file's SHA-256 as it arrives.

    It skips (without failing the request) a file larger than DOCUMENT_MAX_UPLOAD_BYTES, and stops
    receiving once the batch passes DOCUMENT_MAX_BATCH_BYTES; the files already received are kept.
    """

    chunk_size = 1024 * 1024  # Django's 64 KB costs four times the Python work on large files

    def __init__(self, request, refusals: list[Refusal]):
        super().__init__(request)
        self.refusals = refusals
        self.batch_received = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.digest = hashlib.sha256()
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        self.batch_received += len(raw_data)
        if self.batch_received > settings.DOCUMENT_MAX_BATCH_BYTES:
            self.refusals.append(Refusal(self.file_name, "batch_too_large"))
            raise StopUpload(connection_reset=False)  # the parser deletes this file, reads and drops the rest
        if self.received > settings.DOCUMENT_MAX_UPLOAD_BYTES:
            self.file.close()  # deletes the temporary file
            self.refusals.append(Refusal(self.file_name, "too_large"))
            raise SkipFile()
        self.digest.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        uploaded = super().file_complete(file_size)
        uploaded.sha256 = self.digest.hexdigest()
        return uploaded


class UploadParser(MultiPartParser):
    """Refuses file names with folders in them, which Django would otherwise shorten silently."""

    def __init__(self, *args, refusals: list[Refusal], **kwargs):
        super().__init__(*args, **kwargs)
        self.refusals = refusals

    def sanitize_file_name(self, file_name):
        given = html.unescape(file_name)
        if "/" in given or "\\" in given:
            self.refusals.append(Refusal(given, "path_in_name"))
            return None  # Django then skips the part
        clean = super().sanitize_file_name(file_name)  # drops unprintable characters
        if clean is None and given.strip():
            self.refusals.append(Refusal(given, "unusable_name"))
        return clean


def parse_upload(request):
    """Parses a multipart upload; returns (POST, FILES, refusals) and leaves them on the request.

    Called instead of Django's own parsing (the view is csrf_exempt until this is done), so that
    our parser and handler see the files.
    """
    refusals: list[Refusal] = []
    if request.content_type != "multipart/form-data":
        return request.POST, request.FILES, refusals  # no files: Django's own parsing will do
    handlers = [HashingUploadHandler(request, refusals)]
    parser = UploadParser(request.META, request, handlers, request.encoding, refusals=refusals)
    post, files = parser.parse()
    # Where HttpRequest keeps what it parsed, so request.POST (and the CSRF check) see the same data.
    request._post, request._files = post, files
    return post, files, refusals


def check_upload(uploaded) -> FileKind | Refusal:
    """The file's kind, recognised from its bytes (XML parsed safely), or why it is refused."""
    try:
        kind, _pages = inspect(uploaded, thorough=False)
    except FileRefused as refused:
        return Refusal(uploaded.name, refused.code)
    return kind
