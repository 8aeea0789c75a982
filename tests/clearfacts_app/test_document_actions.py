"""Which actions a document's status allows is decided in one place, the model; the services and
the templates ask it."""

import re
from pathlib import Path

import pytest

from clearfacts_app import documents
from clearfacts_app.models import Document
from tests.factories import make_document

Status = Document.Status
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

ALLOWED = {  # status: (retry, send anyway, cancel)
    Status.QUEUED: (False, False, False),
    Status.SENDING: (False, False, False),
    Status.SENT: (False, False, False),
    Status.CANCELLED: (False, False, False),
    Status.FAILED: (True, False, True),
    Status.NEEDS_SIGN_IN: (True, False, True),
    Status.HELD: (False, True, True),
}


def test_every_status_says_which_actions_it_allows():
    assert set(ALLOWED) == set(Status)
    for status, allowed in ALLOWED.items():
        document = Document(status=status)
        assert (document.can_retry, document.can_send_anyway, document.can_cancel) == allowed, status


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize(
    "service, ask",
    [
        (documents.document_retry, "can_retry"),
        (documents.document_send_anyway, "can_send_anyway"),
        (documents.document_cancel, "can_cancel"),
    ],
)
def test_the_services_do_what_the_status_allows_and_nothing_else(
    administration, member, monkeypatch, status, service, ask
):
    monkeypatch.setattr(documents, "_dispatch", lambda document_id: None)
    document = make_document(administration, member, status=status)

    assert service(document=document, actor=member) is getattr(document, ask)


def test_no_template_compares_status_strings():
    comparison = re.compile(r"""status\s*(==|!=|\bin\b|\bnot in\b)\s*["']|["']\s*(==|!=)\s*\w+\.status\b""")
    found = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in TEMPLATES.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if comparison.search(line)
    ]
    assert found == []
