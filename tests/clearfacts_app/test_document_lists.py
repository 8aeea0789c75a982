import re

import pytest

from clearfacts_app.models import Document


@pytest.fixture
def thirty_documents(member, administration):
    Document.objects.bulk_create(
        Document(administration=administration, uploaded_by=member, destination="inbox", invoice_type="PURCHASE",
                 filename=f"factuur-{n:02d}.pdf", file=f"documents/{n}.pdf", content_type="application/pdf",
                 size=1000, sha256=f"{n:064d}", status="sent" if n % 2 else "failed")
        for n in range(30)
    )  # fmt: skip


@pytest.mark.parametrize("path", ["/documents/", "/administrations/{number}/documents/"])
def test_document_lists_are_paged_and_keep_their_filters(client, member, administration, thirty_documents, path):
    client.force_login(member)
    url = path.format(number=administration.company_number)

    first = client.get(url).text
    filtered = client.get(url, {"status": "sent"}).text

    assert first.count('data-testid="document-row"') == 25
    next_page = re.search(r'data-testid="documents-next"', first) and re.search(
        rf'href="({re.escape(url)}\?status=&amp;destination=&amp;page=2)"', first
    )
    assert next_page, "a link to page 2 of the same list"
    assert client.get(url, {"page": 2}).text.count('data-testid="document-row"') == 5
    assert filtered.count('data-testid="document-row"') == 15 and 'data-status="failed"' not in filtered


def test_the_cross_administration_list_names_each_administration(client, member, administration, thirty_documents):
    client.force_login(member)

    page = client.get("/documents/").text

    assert page.count(f"<td>{administration.name}</td>") == 25
