"""Receiving uploaded files: streamed to disk, hashed on the way, checked before anything is kept.

Each file of a batch is judged on its own: a refused file gets a clear reason and the others
still go through. Nothing is read into memory whole.
"""

import hashlib
import html
from dataclasses import dataclass, field
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, TooManyFilesSent
from django.core.files.uploadhandler import SkipFile, StopUpload, TemporaryFileUploadHandler
from django.http import QueryDict
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.template.defaultfilters import filesizeformat
from django.utils.datastructures import MultiValueDict
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
    "too_many_files": _(
        "At most %(max_files)d files can be uploaded at once: the files after %(last)s were not received. "
        "Upload them in another batch."
    ),
    "unreadable": _("The upload could not be read. Choose the files again and upload them with this form."),
    "unreadable_after": _(
        "The rest of the upload could not be read: the files after %(last)s were not received. Upload those "
        "files again."
    ),
    "unreadable_rest": _(
        "The rest of the upload could not be read (a file name of several hundred characters does this): "
        "the files after %(last)s were not received. Shorten long file names and upload those files again."
    ),
    "unreadable_files": _(
        "The files could not be read (a file name of several hundred characters does this): nothing was "
        "received. Shorten long file names and upload the files again."
    ),
    "empty_file": _("The file is empty."),
    "unsupported_file_type": _("Only PDF, JPEG and XML invoices are accepted; this file is none of them."),
    "unsafe_xml": _("XML files may not contain a DTD or entity declarations."),
    "invalid_xml": _("The XML file is not well-formed."),
    "unsupported_xml": _("XML files must be a UBL invoice or credit note (Peppol BIS Billing 3.0, UBL.BE or E-FFF)."),
}


# Longer names are shortened (their extension kept): Clearfacts and the portal's records keep names
# of ordinary length, and a long name also makes the temporary file's name too long for the disk.
MAX_NAME_LENGTH = 200
MAX_EXTENSION_LENGTH = 10


@dataclass
class Refusal:
    """A file, or the rest of a batch (no `filename`), that was not kept, and why."""

    filename: str
    reason: str
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        return str(REASONS[self.reason]) % {
            "limit": filesizeformat(settings.DOCUMENT_MAX_UPLOAD_BYTES),
            "batch_limit": filesizeformat(settings.DOCUMENT_MAX_BATCH_BYTES),
            "max_files": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
            **self.params,
        }


def shortened(name: str) -> str:
    """The name cut to MAX_NAME_LENGTH characters, keeping its extension."""
    if len(name) <= MAX_NAME_LENGTH:
        return name
    suffix = PurePath(name).suffix
    if len(suffix) > MAX_EXTENSION_LENGTH:
        suffix = ""
    return name[: MAX_NAME_LENGTH - len(suffix)].rstrip() + suffix


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
        self.pending = True

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        self.batch_received += len(raw_data)
        if self.batch_received > settings.DOCUMENT_MAX_BATCH_BYTES:
            self.pending = False
            self.refusals.append(Refusal(self.file_name, "batch_too_large"))
            raise StopUpload(connection_reset=False)  # the parser deletes this file, reads and drops the rest
        if self.received > settings.DOCUMENT_MAX_UPLOAD_BYTES:
            self.pending = False
            self.file.close()  # deletes the temporary file
            self.refusals.append(Refusal(self.file_name, "too_large"))
            raise SkipFile()
        self.digest.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        self.pending = False
        uploaded = super().file_complete(file_size)
        uploaded.sha256 = self.digest.hexdigest()
        return uploaded

    def complete_pending(self, *, whole: bool):
        """The file being received when the parser stopped: completed if it had come `whole`, else
        deleted (None)."""
        if not getattr(self, "pending", False):
            return None
        if whole:
            return self.file_complete(self.received)
        self.pending = False
        self.file.close()  # deletes the temporary file
        return None


class UploadParser(MultiPartParser):
    """Refuses file names with folders in them (which Django would otherwise shorten silently) or made
    of spaces only, and shortens long ones.

    A batch Django would refuse whole (too many files, a part it cannot read) keeps the files
    received before the problem; the rest is explained.
    """

    def __init__(self, *args, refusals: list[Refusal], **kwargs):
        super().__init__(*args, **kwargs)
        self.refusals = refusals

    def sanitize_file_name(self, file_name):
        given = html.unescape(file_name)
        if "/" in given or "\\" in given:
            self.refusals.append(Refusal(shortened(given), "path_in_name"))
            return None  # Django then skips the part
        clean = (super().sanitize_file_name(file_name) or "").strip()  # drops unprintable characters
        if clean in {"", ".", ".."}:
            self.refusals.append(Refusal(shortened(given.strip()) or f"“{given}”", "unusable_name"))
            return None
        return shortened(clean)

    def parse(self):
        # MultiPartParser.parse, except that a problem Django would refuse the whole batch for keeps
        # the files received before it.
        try:
            return self._parse()
        except (MultiPartParserError, SuspiciousOperation) as problem:
            return self._received_before(problem)
        except Exception:
            for uploaded in getattr(self, "_files", MultiValueDict()).getlist("files"):
                uploaded.close()
            raise

    def _received_before(self, problem):
        """The fields and whole files received before `problem`; the rest is read and dropped."""
        post, files = getattr(self, "_post", QueryDict(mutable=True)), getattr(self, "_files", MultiValueDict())
        # Stopped at the headers of the next part (a very long file name): the file before it had
        # been received whole. Anything else may have stopped in the middle of a file.
        whole = isinstance(problem, MultiPartParserError) and "header size" in str(problem)
        for handler in self._upload_handlers:
            uploaded = handler.complete_pending(whole=whole) if isinstance(handler, HashingUploadHandler) else None
            if uploaded is not None:
                files.appendlist("files", uploaded)
        received = files.getlist("files")
        last = {"last": received[-1].name} if received else {}
        if isinstance(problem, TooManyFilesSent) and received:
            self.refusals.append(Refusal("", "too_many_files", last))
        elif whole:
            self.refusals.append(Refusal("", "unreadable_rest" if received else "unreadable_files", last))
        else:
            self.refusals.append(Refusal("", "unreadable_after" if received else "unreadable", last))
        drain(self._input_data)
        post._mutable = False
        return post, files


def drain(stream) -> None:
    """Reads the rest of the request body and drops it, so that the answer reaches the browser."""
    while stream.read(HashingUploadHandler.chunk_size):
        pass


@dataclass
class Received:
    """What an upload request carried: its fields and files, the files refused, and whether any of
    it could be read at all."""

    post: QueryDict
    files: MultiValueDict
    refusals: list[Refusal]
    readable: bool = True


def parse_upload(request) -> Received:
    """Parses a multipart upload and leaves what it found on the request.

    Called instead of Django's own parsing (the view is csrf_exempt until this is done), so that
    our parser and handler see the files. A body that cannot be read at all (no or a wrong
    boundary) is `readable=False`, with nothing on the request, rather than an error.
    """
    refusals: list[Refusal] = []
    if request.content_type != "multipart/form-data":
        return Received(request.POST, request.FILES, refusals)  # no files: Django's own parsing will do
    handlers = [HashingUploadHandler(request, refusals)]
    try:
        parser = UploadParser(request.META, request, handlers, request.encoding, refusals=refusals)
    except MultiPartParserError:
        post, files = QueryDict(), MultiValueDict()
    else:
        post, files = parser.parse()
    # Where HttpRequest keeps what it parsed, so request.POST (and the CSRF check) see the same data.
    request._post, request._files = post, files
    readable = bool(post or files or refusals)
    if not readable:
        drain(request)
        refusals.append(Refusal("", "unreadable"))
    return Received(post, files, refusals, readable)


def check_upload(uploaded) -> FileKind | Refusal:
    """The file's kind, recognised from its bytes (XML parsed safely), or why it is refused."""
    try:
        kind, _pages = inspect(uploaded, thorough=False)
    except FileRefused as refused:
        return Refusal(uploaded.name, refused.code)
    return kind
