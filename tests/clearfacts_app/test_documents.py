"""Uploading documents to the sandbox through the portal, with a real worker, over HTTP."""

import io
import re
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from accounts.models import User
from clearfacts_app.models import AdministrationAccess, Document
from clearfacts_app.roles import Role
from clearfacts_app.tasks import sweep_documents
from sandbox.clearfacts import models as sandbox
from sandbox.instrument import fail_next
from sandbox.models import RequestLog
from tests import samples
from tests.conftest import wait_until
from tests.personas import AN, BAKKERIJ
from tests.portal_site import sign_in
from tests.signed_in import sign_in_directly

UPLOAD = f"/administrations/{BAKKERIJ}/documents/upload/"


def upload(browser, *files, htmx=False, **fields):
    """POSTs files (name, bytes) to the upload page like the form does; returns the response."""
    data = {"destination": "inbox", "invoice_type": "PURCHASE", "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    headers = {"Referer": f"{browser.portal}{UPLOAD}"} | ({"HX-Request": "true"} if htmx else {})
    return browser.post(
        f"{browser.portal}{UPLOAD}",
        data=data | fields,
        files=[("files", (name, io.BytesIO(content), "application/octet-stream")) for name, content in files],
        headers=headers,
        timeout=60,
    )


def ends(document: Document, status: str, browser, timeout=30) -> Document:
    def reached():
        document.refresh_from_db()
        return document.status == status

    wait_until(reached, timeout=timeout, message=f"{document} to be {status}", process=browser.worker)
    return document


def uploads_received() -> int:
    return RequestLog.objects.filter(service="clearfacts-graphql", operation__startswith="upload").count()


def test_a_pdf_reaches_the_sandbox_inbox_with_its_page_count(browser):
    content = samples.pdf(pages=3)

    response = upload(browser, ("factuur-2026-11.pdf", content))

    assert response.status_code == 200 and 'data-testid="upload-accepted"' in response.text
    document = ends(Document.objects.get(), Document.Status.SENT, browser)
    received = sandbox.Document.objects.get()
    assert (received.filename, received.destination, received.invoice_type) == (
        "factuur-2026-11.pdf",
        "inbox",
        "PURCHASE",
    )
    assert received.amount_of_pages == 3 and received.company.company_number == BAKKERIJ
    assert received.file.read() == content
    assert document.amount_of_pages == 3 and document.clearfacts_uuid == str(received.uuid).upper()
    assert document.uploaded_by.email == AN and document.size == len(content) and document.attempts == 1
    assert uploads_received() == 1


def test_an_archive_upload_goes_to_the_chosen_category(browser):
    category = sandbox.ArchiveCategory.objects.get(company__company_number=BAKKERIJ, name="Statuten")

    upload(
        browser,
        ("statuten.pdf", samples.pdf()),
        destination="archive",
        archive_type="PERMANENT",
        archive_category=str(category.id),
    )

    document = ends(Document.objects.get(), Document.Status.SENT, browser)
    received = sandbox.Document.objects.get()
    assert (received.destination, received.archive_type, received.category) == ("archive", "PERMANENT", category)
    assert document.archive_category_name == "Statuten"


def test_an_unknown_category_is_refused_before_anything_is_stored(browser):
    response = upload(
        browser,
        ("a.pdf", samples.pdf()),
        destination="archive",
        archive_type="PERMANENT",
        archive_category="not-a-category",
    )

    assert response.status_code == 200 and "This category is not in Clearfacts (any more)" in response.text
    assert not Document.objects.exists()


def test_a_category_of_the_other_archive_is_refused_before_anything_is_stored(browser):
    various = sandbox.ArchiveCategory.objects.filter(company__company_number=BAKKERIJ, kind="VARIOUS").first()

    response = upload(
        browser,
        ("a.pdf", samples.pdf()),
        destination="archive",
        archive_type="PERMANENT",
        archive_category=str(various.id),
    )

    assert "Choose a category of that archive." in response.text
    assert not Document.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.pdf", b"", "The file is empty."),
        ("invoice.pdf", samples.DISGUISED_EXE, "this file is none of them"),
        ("notes.pdf", samples.TEXT, "this file is none of them"),
        ("page.xml", samples.HTML_PAGE, "this file is none of them"),
        ("order.xml", samples.NOT_AN_INVOICE_XML, "must be a UBL invoice or credit note"),
        ("bomb.xml", samples.ENTITY_EXPANSION_XML, "may not contain a DTD"),
        ("odd.xml", samples.UBL_INVOICE.replace(b"UTF-8", b"x-foo"), "not well-formed"),
        ("utf7.xml", samples.UBL_INVOICE.replace(b"UTF-8", b"utf-7"), "not well-formed"),
        ("../../etc/invoice.pdf", samples.pdf(), "may not contain folders"),
        ("c:\\users\\an\\invoice.pdf", samples.pdf(), "may not contain folders"),
        ("..", samples.pdf(), "needs a name made of ordinary characters"),
    ],
)
def test_a_refused_file_gets_its_reason_and_the_rest_of_the_batch_goes_through(browser, name, content, message):
    response = upload(browser, (name, content), ("good.pdf", samples.pdf()))

    refused = response.text.split('data-testid="upload-refused"', 1)[1].split("</li>", 1)[0]
    assert message in refused
    assert list(Document.objects.values_list("filename", flat=True)) == ["good.pdf"]
    ends(Document.objects.get(), Document.Status.SENT, browser)
    assert sandbox.Document.objects.count() == 1


def test_a_file_over_the_size_limit_is_refused_and_the_rest_goes_through(browser):
    with override_settings(DOCUMENT_MAX_UPLOAD_BYTES=50_000):
        response = upload(browser, ("big.pdf", samples.pdf() + b" " * 60_000), ("small.pdf", samples.pdf()))

    assert "The file is larger than 48.8\xa0KB." in response.text
    assert list(Document.objects.values_list("filename", flat=True)) == ["small.pdf"]


@pytest.mark.parametrize(
    ("name", "content"),
    [("scan.jpg", samples.JPEG), ("peppol.xml", samples.UBL_INVOICE), ("ubl-be.xml", samples.UBL_CREDIT_NOTE)],
)
def test_jpeg_and_ubl_xml_are_sent_too(browser, name, content):
    upload(browser, (name, content))

    ends(Document.objects.get(), Document.Status.SENT, browser)
    assert sandbox.Document.objects.get().filename == name


def test_a_file_recognised_by_its_bytes_not_its_name(browser):
    upload(browser, ("scan.txt", samples.pdf()))

    document = ends(Document.objects.get(), Document.Status.SENT, browser)
    assert document.content_type == "application/pdf"


def test_sandbox_5xx_are_retried_and_the_document_is_sent_once(browser):
    fail_next("clearfacts-graphql", operation="uploadFile", count=2, status=503)

    upload(browser, ("retry.pdf", samples.pdf()))

    document = ends(Document.objects.get(), Document.Status.SENT, browser, timeout=60)
    assert document.attempts == 3
    assert sandbox.Document.objects.count() == 1
    statuses = RequestLog.objects.filter(operation="uploadFile").order_by("id").values_list("status", flat=True)
    assert list(statuses) == [503, 503, 200]


def upload_to_a_category_clearfacts_has_since_deleted(browser):
    """The upload page read the categories; then the category disappears from Clearfacts."""
    browser.get(f"{browser.portal}{UPLOAD}", timeout=30)
    category = sandbox.ArchiveCategory.objects.get(company__company_number=BAKKERIJ, name="Statuten")
    category_id = str(category.id)
    category.delete()
    upload(
        browser,
        ("statuten.pdf", samples.pdf()),
        destination="archive",
        archive_type="PERMANENT",
        archive_category=category_id,
    )
    return ends(Document.objects.get(), Document.Status.FAILED, browser)


def test_a_graphql_error_is_final_with_its_message(browser):
    document = upload_to_a_category_clearfacts_has_since_deleted(browser)

    assert document.reason_params == {"message": "Unknown permanent archive category."} and document.attempts == 1
    time.sleep(3)
    assert RequestLog.objects.filter(operation="uploadArchiveFile").count() == 1, "no retry after a GraphQL error"
    page = browser.get(f"{browser.portal}/administrations/{BAKKERIJ}/documents/{document.pk}/", timeout=30)
    assert "Unknown permanent archive category." in page.text and "Try again" in page.text


def revoke_while_the_upload_page_is_open(browser):
    """An opens the upload page (its archive categories are read and cached), then Clearfacts
    revokes the portal's token: the upload is accepted, the worker's send is refused."""
    browser.get(f"{browser.portal}{UPLOAD}", timeout=30)
    sandbox.AccessToken.objects.update(revoked_at=timezone.now(), refresh_revoked_at=timezone.now())


def test_a_refused_token_sets_needs_sign_in_and_a_new_sign_in_resumes_it(browser, portal):
    revoke_while_the_upload_page_is_open(browser)

    upload(browser, ("wait.pdf", samples.pdf()))

    document = ends(Document.objects.get(), Document.Status.NEEDS_SIGN_IN, browser)
    assert document.reason_code == Document.Reason.SIGN_IN_REFUSED
    assert not sandbox.Document.objects.exists()
    page = browser.get(f"{portal.url}/accounts/sign-in-again/", timeout=30)
    assert page.status_code == 401

    sign_in(portal, AN, browser=browser)

    ends(document, Document.Status.SENT, browser)
    assert sandbox.Document.objects.count() == 1


def test_the_same_file_again_is_held_until_the_user_confirms(browser):
    content = samples.pdf(pages=2)
    upload(browser, ("first.pdf", content))
    first = ends(Document.objects.get(), Document.Status.SENT, browser)

    upload(browser, ("again.pdf", content))

    second = Document.objects.exclude(pk=first.pk).get()
    assert second.status == Document.Status.HELD
    detail = browser.get(f"{browser.portal}/administrations/{BAKKERIJ}/documents/{second.pk}/", timeout=30)
    assert "already uploaded to this administration" in detail.text
    browser.post(
        f"{browser.portal}/administrations/{BAKKERIJ}/documents/{second.pk}/send/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        timeout=30,
    )
    ends(second, Document.Status.SENT, browser)
    assert sandbox.Document.objects.count() == 2


def test_a_failed_document_can_be_cancelled_and_its_file_is_deleted(browser):
    document = upload_to_a_category_clearfacts_has_since_deleted(browser)
    stored = Path(document.file.path)
    assert stored.exists()

    browser.post(
        f"{browser.portal}/administrations/{BAKKERIJ}/documents/{document.pk}/cancel/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        timeout=30,
    )

    document.refresh_from_db()
    assert document.status == Document.Status.CANCELLED
    assert not stored.exists()
    retried = browser.post(
        f"{browser.portal}/administrations/{BAKKERIJ}/documents/{document.pk}/retry/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        timeout=30,
    )
    assert "cannot be done in the document" in retried.text


def test_retry_sends_a_failed_document_again(browser, portal):
    revoke_while_the_upload_page_is_open(browser)
    upload(browser, ("retry-me.pdf", samples.pdf()))
    document = ends(Document.objects.get(), Document.Status.NEEDS_SIGN_IN, browser)
    sign_in(portal, AN, browser=browser)  # resumes it by itself; retry is for failures
    ends(document, Document.Status.SENT, browser)
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.FAILED, reason_code="legacy", reason_params={"text": "simulated"}
    )

    browser.post(
        f"{browser.portal}/administrations/{BAKKERIJ}/documents/{document.pk}/retry/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        timeout=30,
    )

    ends(document, Document.Status.SENT, browser)
    assert sandbox.Document.objects.count() == 2


def test_the_sweeper_sends_what_a_lost_task_left_queued(browser):
    # The task of this document was lost: its row was written, no message reached a worker.
    an = User.objects.get(email=AN)
    document = Document.objects.create(
        administration=an.administration_accesses.get().administration,
        uploaded_by=an,
        destination="inbox",
        invoice_type="SALE",
        filename="lost.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
    )
    document.file.save("lost.pdf", io.BytesIO(samples.pdf()), save=True)
    Document.objects.filter(pk=document.pk).update(updated_at=timezone.now() - timezone.timedelta(minutes=10))

    sweep_documents.delay()

    ends(document, Document.Status.SENT, browser)


def test_the_htmx_upload_answers_one_status_row_that_follows_itself(browser):
    response = upload(browser, ("live.pdf", samples.pdf()), htmx=True)

    assert "<!doctype" not in response.text.lower()
    document = Document.objects.get()
    assert f'hx-get="/administrations/{BAKKERIJ}/documents/{document.pk}/status/"' in response.text
    ends(document, Document.Status.SENT, browser)
    status = browser.get(
        f"{browser.portal}/administrations/{BAKKERIJ}/documents/{document.pk}/status/",
        headers={"HX-Request": "true"},
        timeout=30,
    )
    assert status.status_code == 286, "a final status stops the polling"
    assert 'data-status="sent"' in status.text and "hx-trigger" not in status.text


def test_a_status_row_keeps_polling_while_not_final(browser):
    with override_settings(SANDBOX_LATENCY_MS=0):
        fail_next("clearfacts-graphql", operation="uploadFile", count=50, status=503)
        upload(browser, ("slow.pdf", samples.pdf()))
        document = Document.objects.get()
        status = browser.get(f"{browser.portal}/administrations/{BAKKERIJ}/documents/{document.pk}/status/", timeout=30)

    assert status.status_code == 200 and 'hx-trigger="every 2s"' in status.text


def test_documents_are_listed_per_administration_and_across_them_with_filters(browser):
    upload(browser, ("inbox.pdf", samples.pdf()))
    category = sandbox.ArchiveCategory.objects.get(company__company_number=BAKKERIJ, name="Statuten")
    upload(
        browser,
        ("archive.pdf", samples.pdf(2)),
        destination="archive",
        archive_type="PERMANENT",
        archive_category=str(category.id),
    )
    for document in Document.objects.all():
        ends(document, Document.Status.SENT, browser)

    tab = browser.get(f"{browser.portal}/administrations/{BAKKERIJ}/documents/", timeout=30).text
    everything = browser.get(f"{browser.portal}/documents/", timeout=30).text
    archived = browser.get(f"{browser.portal}/documents/", params={"destination": "archive"}, timeout=30).text
    failed = browser.get(f"{browser.portal}/documents/", params={"status": "failed"}, timeout=30).text

    assert tab.count('data-testid="document-row"') == 2 and everything.count('data-testid="document-row"') == 2
    assert "Bakkerij Maes BV" in everything, "across administrations, each row names its administration"
    assert archived.count('data-testid="document-row"') == 1 and "archive.pdf" in archived
    assert "No document matches these filters." in failed


def test_the_document_page_shows_what_clearfacts_knows(browser):
    upload(browser, ("factuur.pdf", samples.pdf(4)), invoice_type="SALE")
    document = ends(Document.objects.get(), Document.Status.SENT, browser)

    page = browser.get(f"{browser.portal}/administrations/{BAKKERIJ}/documents/{document.pk}/", timeout=30)

    remote = page.text.split('data-testid="clearfacts-document"', 1)[1].split("</dl>", 1)[0]
    today = timezone.localdate()
    assert today.strftime("%d/%m/%Y") in remote and today.isoformat() not in remote, "a Belgian date, not ISO"
    assert "Sale" in remote and "Unpaid" in remote
    assert document.clearfacts_uuid in remote


def test_viewers_cannot_upload(browser):
    AdministrationAccess.objects.filter(user__email=AN).update(role=Role.VIEWER)

    response = upload(browser, ("no.pdf", samples.pdf()))

    assert response.status_code == 403 and not Document.objects.exists()


def test_an_upload_without_files_or_destination_is_explained(browser):
    without_files = upload(browser)
    without_type = upload(browser, ("a.pdf", samples.pdf()), invoice_type="")

    assert "Choose at least one file." in without_files.text
    assert "Choose purchase or sale." in without_type.text
    assert not Document.objects.exists()


def test_a_forged_upload_without_the_csrf_token_is_refused(browser):
    response = requests.post(
        f"{browser.portal}{UPLOAD}",
        data={"destination": "inbox", "invoice_type": "PURCHASE"},
        files=[("files", ("x.pdf", samples.pdf()))],
        cookies=browser.cookies,
        timeout=30,
    )

    assert response.status_code == 403 and not Document.objects.exists()


def test_the_upload_page_offers_the_archive_only_with_its_scope(portal, live_worker):
    scopes = " ".join(s for s in settings.OIDC_RP_SCOPES.split() if s != "archive_read")
    browser = sign_in_directly(portal, AN, scope=scopes)

    page = browser.get(f"{portal.url}{UPLOAD}", timeout=30)

    assert re.search(r'id="destination-archive"[^>]*disabled', page.text)
    assert "(scope archive_read)" in page.text.split('data-testid="archive-problem"', 1)[1]
