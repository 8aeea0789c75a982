import html
import re

import pytest

from clearfacts_app.models import Document
from tests.factories import make_administration, make_document


@pytest.fixture
def thirty_documents(member, administration):
    Document.objects.bulk_create(
        Document(
            administration=administration,
            uploaded_by=member,
            destination="inbox",
            invoice_type="PURCHASE",
            filename=f"factuur-{n:02d}.pdf",
            file=f"documents/{n}.pdf",
            content_type="application/pdf",
            size=1000,
            sha256=f"{n:064d}",
            status="sent" if n % 2 else "failed",
        )
        for n in range(30)
    )


@pytest.mark.parametrize("path", ["/documents/", "/administrations/{number}/documents/"])
def test_document_lists_are_paged_and_keep_their_filters(client, member, administration, thirty_documents, path):
    client.force_login(member)
    url = path.format(number=administration.company_number)

    first = client.get(url).text
    filtered = client.get(url, {"status": "sent"}).text

    assert first.count('data-testid="document-row"') == 25
    next_page = re.search(r'data-testid="documents-next"', first) and re.search(
        rf'href="({re.escape(url)}\?page=2)"', first
    )
    assert next_page, "a link to page 2 of the same list"
    assert client.get(url, {"page": 2}).text.count('data-testid="document-row"') == 5
    assert filtered.count('data-testid="document-row"') == 15 and 'data-status="failed"' not in filtered


def test_the_cross_administration_list_names_each_administration(client, member, administration, thirty_documents):
    client.force_login(member)

    page = client.get("/documents/").text

    assert page.count(f"<td>{administration.name}</td>") == 25


@pytest.mark.parametrize("path", ["/documents/", "/administrations/{number}/documents/"])
def test_unknown_filter_values_are_ignored_and_kept_out_of_the_links(
    client, member, administration, thirty_documents, path
):
    client.force_login(member)
    url = path.format(number=administration.company_number)

    response = client.get(url, {"status": 'sent&destination=archive"><script>', "destination": "nowhere"})

    assert response.status_code == 200 and response.text.count('data-testid="document-row"') == 25
    assert f'href="{url}?page=2"' in response.text, "the next page of the unfiltered list"
    assert "<script>" not in response.text.split("</nav>", 1)[1]
    assert 'value="sent" selected' not in response.text


def test_known_filters_are_kept_in_the_links(client, member, administration, thirty_documents):
    Document.objects.update(status="needs-sign-in")
    client.force_login(member)

    page = client.get("/documents/", {"status": "needs-sign-in", "destination": "inbox", "page": "1"}).text

    assert page.count('data-testid="document-row"') == 25 and 'value="needs-sign-in" selected' in page
    assert 'href="/documents/?status=needs-sign-in&amp;destination=inbox&amp;page=2"' in page


def test_a_refreshed_row_of_the_documents_page_keeps_the_administration_column(client, member, administration):
    make_document(
        administration,
        member,
        "wachtend.pdf",
        sha256="1" * 64,
        status="queued",
    )
    client.force_login(member)

    page = client.get("/documents/").text
    row = re.search(r'<tr id="document-\d+".*?</tr>', page, flags=re.S)[0]
    status_url = html.unescape(re.search(r'hx-get="([^"]+)"', row)[1])
    refreshed = client.get(status_url, headers={"HX-Request": "true"}).text

    assert f"<td>{administration.name}</td>" in refreshed
    assert refreshed.count("<td") == row.count("<td")


def test_the_previous_page_keeps_the_filters_too(client, member, administration, thirty_documents):
    client.force_login(member)

    page = client.get("/documents/", {"destination": "inbox", "page": "2"}).text

    assert 'data-testid="documents-previous" href="/documents/?destination=inbox&amp;page=1"' in page
    assert re.search(r'data-testid="documents-page">Page 2 of 2<', page)


def test_the_administration_list_is_paged_and_its_links_keep_the_search_and_the_order(client, member, office):
    for n in range(30):
        administration = make_administration(office, f"Bakkerij {n:02d}")
        member.administration_accesses.create(administration=administration)
    client.force_login(member)

    page = client.get("/administrations/", {"q": "bakkerij", "sort": "-name"}).text

    assert 'data-testid="administrations-next" href="?q=bakkerij&amp;sort=-name&amp;page=2"' in page
    second = client.get("/administrations/", {"q": "bakkerij", "sort": "-name", "page": "2"}).text
    assert 'data-testid="administrations-previous" href="?q=bakkerij&amp;sort=-name&amp;page=1"' in second
    assert re.search(r'data-testid="administrations-page">Page 2 of 2<', second)


def test_the_administration_list_counts_each_upload_and_sorts_by_the_count(client, member, office, monkeypatch):
    from django.core.files.base import ContentFile

    from clearfacts_app import documents
    from clearfacts_app.filetypes import FileKind
    from clearfacts_app.tasks import send_document
    from tests import samples

    monkeypatch.setattr(send_document, "delay", lambda *args: None)
    quiet, busy = make_administration(office, "Bakkerij Stil"), make_administration(office, "Bakkerij Druk")
    for administration in (quiet, busy):
        member.administration_accesses.create(administration=administration)
    for n, administration in enumerate([quiet, busy, busy, busy]):
        documents.document_create(
            administration=administration,
            uploaded_by=member,
            filename=f"factuur-{n}.pdf",
            content=ContentFile(samples.pdf()),
            sha256=f"{n:064d}",
            kind=FileKind.PDF,
            destination=Document.Destination.INBOX,
            invoice_type=Document.InvoiceType.PURCHASE,
        )
    client.force_login(member)

    most = client.get("/administrations/", {"sort": "-documents"}).text
    fewest = client.get("/administrations/", {"sort": "documents"}).text

    def counts(page):
        rows = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        return re.findall(r">(Bakkerij \w+)</a>.*?<td class=\"text-end\">(\d+)</td>", rows, re.S)

    assert counts(most) == [("Bakkerij Druk", "3"), ("Bakkerij Stil", "1")]
    assert counts(fewest) == [("Bakkerij Stil", "1"), ("Bakkerij Druk", "3")]


def test_the_migration_counts_the_documents_already_there(member, administration, other_administration, outsider):
    from django.apps import apps

    from clearfacts_app.models import Administration

    migration = __import__("clearfacts_app.migrations.0011_document_count", fromlist=["count_documents"])
    make_document(administration, member, "a.pdf")
    make_document(administration, member, "b.pdf")
    Administration.objects.update(document_count=0)

    migration.count_documents(apps, None)

    assert dict(Administration.objects.values_list("pk", "document_count")) == {
        administration.pk: 2,
        other_administration.pk: 0,
    }
