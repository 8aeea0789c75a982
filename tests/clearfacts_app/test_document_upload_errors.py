"""Uploads the portal cannot take as they are: unreadable bodies, too many files, very long names, and
archive choices that do not fit together. Each gets an answer in the page, never a server error, and
keeps what it can. Over HTTP against the sandbox."""

import re

import pytest
from django.test import override_settings
from urllib3 import encode_multipart_formdata

from clearfacts_app.models import Document
from sandbox.clearfacts import models as sandbox
from tests import samples
from tests.clearfacts_app.test_documents import UPLOAD, ends, upload
from tests.personas import BAKKERIJ


def post_raw(session, body: bytes, content_type: str | None, **headers):
    """A POST as a script or a broken client might send it, with the CSRF token in a header."""
    headers = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{session.portal}{UPLOAD}", **headers}
    if content_type:
        headers["Content-Type"] = content_type
    return session.post(f"{session.portal}{UPLOAD}", data=body, headers=headers, timeout=60)


def results(response) -> str:
    return response.text.split('data-testid="upload-results"', 1)[1]


def test_an_empty_post_is_answered_with_the_form_and_what_is_missing(browser):
    response = post_raw(browser, b"", None)

    assert response.status_code in (200, 400)
    assert "Choose at least one file." in results(response)
    assert not Document.objects.exists()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n'),
        ("multipart/form-data; boundary=right", b"no part starts with the boundary"),
        ('multipart/form-data; boundary=""', b"anything"),
    ],
    ids=["no boundary", "no such boundary in the body", "empty boundary"],
)
def test_a_multipart_body_that_cannot_be_read_is_explained_in_the_page(browser, content_type, body):
    response = post_raw(browser, body, content_type)

    assert response.status_code == 400
    assert "The upload could not be read." in results(response)
    assert 'name="destination"' in response.text, "the upload form, to try again"
    assert not Document.objects.exists()


def test_a_form_sent_with_another_boundary_than_announced_is_answered_with_the_form(browser):
    body, _ = encode_multipart_formdata(
        {"destination": "inbox", "files": ("factuur.pdf", samples.pdf(), "application/pdf")}, boundary="sent"
    )

    response = post_raw(browser, body, "multipart/form-data; boundary=announced")

    assert response.status_code in (200, 400)
    assert "Choose at least one file." in results(response)
    assert not Document.objects.exists()


def test_more_files_than_allowed_keeps_the_first_ones_and_explains_the_rest(browser):
    files = [(f"factuur-{n}.pdf", samples.pdf(pages=n)) for n in range(1, 6)]

    with override_settings(DATA_UPLOAD_MAX_NUMBER_FILES=3):
        response = upload(browser, *files)

    assert response.status_code == 200
    refused = results(response).split('data-testid="upload-refused"', 1)[1]
    assert "At most 3 files can be uploaded at once: the files after factuur-3.pdf were not received." in refused
    assert sorted(Document.objects.values_list("filename", flat=True)) == [
        "factuur-1.pdf",
        "factuur-2.pdf",
        "factuur-3.pdf",
    ]


def test_a_name_too_long_to_read_keeps_the_files_before_it_and_explains_the_rest(browser):
    response = upload(
        browser, ("eerste.pdf", samples.pdf()), ("x" * 1000 + ".pdf", samples.pdf(2)), ("derde.pdf", samples.pdf(3))
    )

    assert response.status_code == 200
    assert "the files after eerste.pdf were not received" in results(response)
    assert list(Document.objects.values_list("filename", flat=True)) == ["eerste.pdf"]


def test_a_name_too_long_to_read_alone_is_refused_in_its_own_row(browser):
    response = upload(browser, ("x" * 1000 + ".pdf", samples.pdf()), htmx=True)

    assert response.status_code == 200 and "<!doctype" not in response.text.lower()
    row = response.text.split('data-testid="upload-refused"', 1)[1]
    assert "data-file-names" in row, "the page's script names the file, which the portal could not read"
    assert "nothing was received" in row
    assert not Document.objects.exists()


def test_a_long_name_is_shortened_keeping_its_extension(browser):
    name = "offerte-" + "lang-" * 100 + "2026.pdf"

    upload(browser, (name, samples.pdf()), ("kort.pdf", samples.pdf(2)))

    document = ends(Document.objects.get(filename__startswith="offerte-"), Document.Status.SENT, browser)
    assert len(document.filename) <= 200 and document.filename.endswith(".pdf")
    assert document.filename.startswith("offerte-lang-lang-")
    assert sandbox.Document.objects.filter(filename=document.filename).exists()
    assert ends(Document.objects.get(filename="kort.pdf"), Document.Status.SENT, browser), "its neighbour goes as it is"


def category_options(html: str) -> list[str]:
    select = re.search(r'<select name="archive_category".*?</select>', html, flags=re.S)[0]
    return [name.strip() for name in re.findall(r"<option[^>]*>([^<]*)</option>", select)]


def test_the_category_list_offers_only_the_categories_of_the_chosen_archive(browser):
    page = browser.get(f"{browser.portal}{UPLOAD}", timeout=30).text
    permanent = browser.get(
        f"{browser.portal}{UPLOAD}", params={"archive_type": "PERMANENT"}, headers={"HX-Request": "true"}, timeout=30
    )

    assert "Beleggingen" in category_options(page) and "Statuten" not in category_options(page)
    assert re.search(r'<select name="archive_type"[^>]*hx-get="' + re.escape(UPLOAD) + '"', page)
    assert "<!doctype" not in permanent.text.lower()
    assert "Statuten" in category_options(permanent.text) and "Beleggingen" not in category_options(permanent.text)


def test_a_category_of_the_other_archive_is_refused_naming_the_files_and_listing_the_right_ones(browser):
    various = sandbox.ArchiveCategory.objects.get(company__company_number=BAKKERIJ, name="Beleggingen")

    response = upload(
        browser,
        ("statuten.pdf", samples.pdf()),
        ("bijlage.pdf", samples.pdf(2)),
        destination="archive",
        archive_type="PERMANENT",
        archive_category=str(various.id),
    )

    problem = results(response).split('data-testid="upload-problem"', 1)[1].split("</li>", 1)[0]
    assert "statuten.pdf, bijlage.pdf" in problem and "Choose a category of that archive." in problem
    assert "Statuten" in category_options(response.text) and "Beleggingen" not in category_options(response.text)
    assert not Document.objects.exists()


def test_an_archive_problem_in_a_single_file_upload_names_that_file(browser):
    response = upload(
        browser,
        ("statuten.pdf", samples.pdf()),
        htmx=True,
        destination="archive",
        archive_type="PERMANENT",
        archive_category="",
    )

    assert response.status_code == 400
    assert "statuten.pdf" in response.text and "Choose a category of that archive." in response.text
