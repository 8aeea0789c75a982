"""What the portal and the sandbox's Clearfacts accept as an XML invoice, and at what cost."""

import io
import tracemalloc

import pytest

from clearfacts_app.filetypes import FileKind, FileRefused, inspect
from tests import samples

INVOICE_OPEN = b'<?xml version="1.0"?><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'


def refusal(content: bytes, **options) -> str:
    with pytest.raises(FileRefused) as refused:
        inspect(io.BytesIO(content), **options)
    return refused.value.code


@pytest.mark.parametrize("encoding", ["x-foo", "utf-7", "idna", "utf-16"])
@pytest.mark.parametrize("thorough", [True, False])
def test_an_unusable_declared_encoding_is_refused_as_invalid_xml(encoding, thorough):
    content = INVOICE_OPEN.replace(b'version="1.0"', f'version="1.0" encoding="{encoding}"'.encode()) + b"</Invoice>"

    assert refusal(content, thorough=thorough) == "invalid_xml"


def test_a_wide_invoice_is_checked_whole_in_flat_memory():
    content = INVOICE_OPEN + b"<a/>" * 200_000 + b"</Invoice>"  # 800 KB

    tracemalloc.start()
    try:
        assert inspect(io.BytesIO(content)) == (FileKind.XML, 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 1_000_000, f"{peak} bytes to check an 800 KB file"


def test_a_wrapped_wide_invoice_is_checked_whole_in_flat_memory_too():
    content = INVOICE_OPEN + b"<w><x>" + b"<a/>" * 200_000 + b"</x></w></Invoice>"

    tracemalloc.start()
    try:
        inspect(io.BytesIO(content))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 1_000_000, f"{peak} bytes to check an 800 KB file"


class CountingStream(io.BytesIO):
    def __init__(self, content):
        super().__init__(content)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


@pytest.mark.parametrize(
    "before_the_root",
    [b"<!--" + b"x" * 5_000_000 + b"-->", b"<?pi " + b"x" * 5_000_000 + b"?>"],
    ids=["comment", "processing instruction"],
)
def test_the_portal_looks_for_the_root_element_only_near_the_start(before_the_root):
    stream = CountingStream(b'<?xml version="1.0"?>' + before_the_root + INVOICE_OPEN[21:] + b"</Invoice>")

    with pytest.raises(FileRefused) as refused:
        inspect(stream, thorough=False)

    assert refused.value.code == "unsupported_xml"
    assert stream.bytes_read <= 70_000, "a huge token before the root is not read whole"


def test_a_deeply_nested_invoice_is_refused_by_the_whole_check():
    content = INVOICE_OPEN + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</Invoice>"

    assert refusal(content) == "invalid_xml"


def test_the_portal_reads_an_xml_file_only_up_to_its_root_element():
    broken_after_the_root = samples.UBL_INVOICE.replace(b"</Invoice>", b"<unclosed>" * 10)
    stream = io.BytesIO(broken_after_the_root + b"<a/>" * 1_000_000)

    assert inspect(stream, thorough=False) == (FileKind.XML, 1)
    assert stream.tell() == 0, "rewound for the copy that follows"
    assert refusal(broken_after_the_root) == "invalid_xml", "Clearfacts (the sandbox) checks the whole file"


@pytest.mark.parametrize("thorough", [True, False])
def test_a_dtd_or_another_root_is_refused_either_way(thorough):
    assert refusal(samples.ENTITY_EXPANSION_XML, thorough=thorough) == "unsafe_xml"
    assert refusal(samples.NOT_AN_INVOICE_XML, thorough=thorough) == "unsupported_xml"
