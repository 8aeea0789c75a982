"""The files Clearfacts accepts for upload (clearfacts-api-addendum.md): PDF, JPEG and XML invoices.

A file's type is recognised from its bytes, never from its name. An XML file must be a UBL
Invoice or CreditNote (Peppol BIS Billing 3.0, its Belgian variant UBL.BE, or the UBL-based
E-FFF); it is parsed without DTDs or entities, so it cannot expand or reach out.
"""

import enum
import io
from typing import BinaryIO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from pypdf import PdfReader
from pypdf.errors import PdfReadError

UBL_ROOTS = {
    "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice",
    "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote",
}
SNIFF_BYTES = 1024
MAX_XML_DEPTH = 64  # UBL nests about ten levels deep
ROOT_WITHIN = 64 * 1024
UNSUPPORTED_XML = "XML files must be a UBL invoice or credit note (Peppol BIS Billing 3.0, UBL.BE or E-FFF)."


class FileKind(enum.StrEnum):
    PDF = "application/pdf"
    JPEG = "image/jpeg"
    XML = "application/xml"

    @property
    def extension(self) -> str:
        """The extension a file of this kind is stored and sent under, whatever it was called."""
        return EXTENSIONS[self][0]


# The extensions each kind goes by; the first is the one the portal gives it.
EXTENSIONS = {FileKind.PDF: (".pdf",), FileKind.JPEG: (".jpg", ".jpeg", ".jpe"), FileKind.XML: (".xml",)}


def name_for_kind(name: str, kind: FileKind) -> str:
    """`name` with the extension of the kind of file it is: "evil.html" holding a PDF is "evil.pdf"."""
    stem, dot, extension = name.rpartition(".")
    if dot and f".{extension.lower()}" in EXTENSIONS[kind]:
        return name
    return f"{stem if dot and stem else name}{kind.extension}"


class FileRefused(Exception):
    """A file Clearfacts would not accept; `code` is machine-readable, the message is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def sniff(head: bytes) -> FileKind | None:
    """The kind of file these first bytes start, if it is one Clearfacts accepts."""
    if head.startswith(b"%PDF-"):
        return FileKind.PDF
    if head.startswith(b"\xff\xd8\xff"):
        return FileKind.JPEG
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith((b"<?xml", b"<")) and not text.lower().startswith(b"<!doctype html"):
        return FileKind.XML
    return None


def check_xml(stream: BinaryIO, *, whole: bool = True) -> str:
    """The root element of a safe UBL document, or FileRefused.

    With `whole` the entire document must be well-formed; memory stays flat (each finished element
    is dropped) and nesting is capped. Without it only the first ROOT_WITHIN bytes are read, where a
    UBL root element sits: the cheap check for the web request, where Clearfacts checks the rest.
    """
    if not whole:
        stream = io.BytesIO(stream.read(ROOT_WITHIN))
    root = None
    open_elements = []
    try:
        for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                if root is None:
                    root = element
                    if not whole:
                        break
                open_elements.append(element)
                if len(open_elements) > MAX_XML_DEPTH:
                    raise FileRefused("invalid_xml", "The XML file is nested too deeply.")
            else:
                open_elements.pop()
                if open_elements:
                    open_elements[-1].remove(element)
    except DefusedXmlException:
        raise FileRefused("unsafe_xml", "XML files may not contain a DTD or entity declarations.") from None
    except (SyntaxError, ValueError, LookupError):  # ParseError; unknown or unusable declared encodings
        if root is None and not whole and stream.getbuffer().nbytes == ROOT_WITHIN:
            raise FileRefused("unsupported_xml", UNSUPPORTED_XML) from None  # no root element near the start
        raise FileRefused("invalid_xml", "The XML file is not well-formed.") from None
    if root is None or root.tag not in UBL_ROOTS:
        raise FileRefused("unsupported_xml", UNSUPPORTED_XML)
    return root.tag


def pdf_page_count(stream: BinaryIO) -> int:
    try:
        return len(PdfReader(stream).pages)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError):
        raise FileRefused("invalid_pdf", "The PDF file could not be read.") from None


def inspect(stream: BinaryIO, *, thorough: bool = True) -> tuple[FileKind, int | None]:
    """The kind and page count of an upload, or FileRefused. Reads the stream; rewinds it.

    Without `thorough` a PDF is recognised by its header and an XML file by its root element: what
    the portal checks in the web request. The rest (page count, the whole XML) is Clearfacts'
    business, and reading it would cost time and memory on large files.
    """
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    if not head:
        raise FileRefused("empty_file", "The file is empty.")
    kind = sniff(head)
    if kind is None:
        raise FileRefused("unsupported_file_type", "Only PDF, JPEG and XML (UBL) files are accepted.")
    try:
        if kind is FileKind.PDF:
            return kind, pdf_page_count(stream) if thorough else None
        if kind is FileKind.XML:
            check_xml(stream, whole=thorough)
        return kind, 1
    finally:
        stream.seek(0)
