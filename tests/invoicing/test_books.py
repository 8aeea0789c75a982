"""Accepted sales invoices into the books, over a real socket against the sandbox: one SALE upload of the
UBL per accepted invoice, whatever repeats (polls, writes, tasks, sweepers), held when its answer is lost,
nothing with the setting off; the list action, the invoice page's part, and outsiders' 404s."""

from datetime import timedelta

import pytest
from defusedxml import ElementTree
from django.conf import settings
from django.utils import timezone

from clearfacts_app import documents
from clearfacts_app.models import Document
from invoicing import books, polling
from invoicing.book_tasks import prepare_book_filing, sweep_book_filings
from invoicing.models import BookFiling, Invoice, InvoicingProfile, Submission
from invoicing.submissions import submission_send
from invoicing.ubl import ubl_filename
from sandbox.clearfacts import models as sandbox
from sandbox.instrument import fail_next
from tests.factories import make_invoice
from tests.invoicing.polling_helpers import make_due, poll_until, sent
from tests.invoicing.submit_helpers import ready_draft, submitted

pytestmark = pytest.mark.slow

State = BookFiling.State
HTMX = {"HX-Request": "true"}
NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
PEPPOL_BIS_3 = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"


@pytest.fixture
def prepared(monkeypatch):
    """The preparing tasks dispatched (recorded here, run by the tests), as filing ids."""
    calls = []
    monkeypatch.setattr(books, "_dispatch", calls.append)
    return calls


@pytest.fixture
def quiet(monkeypatch):
    """No broker for what the tests do not follow: sends of submissions and documents, outcome e-mails."""
    from invoicing import submissions

    monkeypatch.setattr(submissions, "_dispatch", lambda pk, countdown=None: None)
    monkeypatch.setattr(submissions.notifications, "submission_outcome_notify", lambda pk: None)
    monkeypatch.setattr(polling.notifications, "submissions_outcome_notify", lambda ids: None)
    monkeypatch.setattr(documents, "_dispatch", lambda pk: None)


def sales_at_the_sandbox(administration):
    """The SALE documents the sandbox's Clearfacts holds in the administration's inbox."""
    return sandbox.Document.objects.filter(
        company__company_number=administration.company_number, destination="inbox", invoice_type="SALE"
    )


def accepted_at_once(administration, author) -> Invoice:
    """A German invoice: Clearvo accepts it in its answer to the POST."""
    submission = submitted(ready_draft(administration, author, "DE"), author)
    assert submission_send(submission.pk) == Submission.State.SENT
    invoice = Invoice.objects.get(pk=submission.invoice_id)
    assert invoice.status == Invoice.Status.ACCEPTED
    return invoice


def handed_over(invoice) -> Document:
    filing = BookFiling.objects.get(invoice=invoice)
    assert books.book_filing_prepare(filing.pk) == State.HANDED_OVER
    filing.refresh_from_db()
    return filing.document


def send(document) -> str:
    return documents.document_send(document_id=document.pk, last_attempt=False)


def page_url(invoice, action="") -> str:
    base = f"/administrations/{invoice.administration.company_number}/invoices/{invoice.pk}/"
    return f"{base}{action}/" if action else base


# --- one SALE upload per accepted invoice ---


def test_an_invoice_accepted_at_once_goes_to_the_inbox_once_as_a_sale(
    live_clearvo, administration, member, prepared, quiet
):
    invoice = accepted_at_once(administration, member)

    filing = BookFiling.objects.get(invoice=invoice)  # written with ACCEPTED, in the same transaction
    assert filing.state == State.PENDING and prepared == [filing.pk]
    document = handed_over(invoice)
    assert (document.destination, document.invoice_type, document.content_type) == ("inbox", "SALE", "application/xml")
    assert document.uploaded_by == member and document.filename == ubl_filename(invoice)
    assert document.administration == administration and document.status == Document.Status.QUEUED

    assert books.book_filing_prepare(filing.pk) == State.HANDED_OVER  # the task run twice
    assert send(document) == Document.Status.SENT
    assert send(document) == "not claimable"

    received = sales_at_the_sandbox(administration).get()
    ubl = ElementTree.fromstring(received.file.read())
    assert ubl.tag == "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
    assert ubl.findtext("cbc:CustomizationID", namespaces=NS) == PEPPOL_BIS_3
    assert ubl.findtext("cbc:ID", namespaces=NS) == invoice.invoice_number
    assert ubl.find(".//cbc:EmbeddedDocumentBinaryObject", NS).get("mimeCode") == "application/pdf"
    assert Document.objects.count() == 1 and BookFiling.objects.count() == 1


def test_repeated_polls_and_a_second_accepted_write_leave_one_filing_and_one_upload(
    live_clearvo, settings, administration, member, prepared, quiet
):
    settings.SANDBOX_TIME_FACTOR = 100_000  # decided at once
    submission = sent(administration, member, "IT")
    make_due(submission)
    poll_until(lambda: Submission.objects.get(pk=submission.pk).terminal, poll=polling.submissions_poll_due)
    assert Submission.objects.get(pk=submission.pk).clearance_status == "ACCEPTED"
    for _ in range(3):
        polling.submission_poll(submission)
    # ACCEPTED written a second time (as if the first write's reads came back again after a crash).
    Submission.objects.filter(pk=submission.pk).update(clearance_status="PENDING", terminal=False)
    Invoice.objects.filter(pk=submission.invoice_id).update(status=Invoice.Status.PENDING)
    polling.submission_poll(submission)
    assert books.book_filings_request([submission.invoice_id]) == []

    filing = BookFiling.objects.get()
    assert filing.invoice_id == submission.invoice_id and len(prepared) == 1
    document = handed_over(submission.invoice)
    assert send(document) == Document.Status.SENT
    assert books.book_filings_sweep(stale_after=timedelta(0)) == 0
    assert sales_at_the_sandbox(administration).count() == 1


def test_a_filing_whose_task_was_lost_is_dispatched_again_by_the_sweeper_and_uploaded_once(
    live_clearvo, administration, member, prepared, quiet
):
    invoice = accepted_at_once(administration, member)
    filing = BookFiling.objects.get(invoice=invoice)
    prepared.clear()  # the task never ran: the broker lost it

    assert sweep_book_filings(stale_after_seconds=120) == 0, "too fresh to be lost"
    BookFiling.objects.filter(pk=filing.pk).update(updated_at=timezone.now() - timedelta(minutes=3))
    assert sweep_book_filings(stale_after_seconds=120) == 1 and prepared == [filing.pk]
    assert sweep_book_filings(stale_after_seconds=120) == 0, "touched when dispatched"

    assert prepare_book_filing(filing.pk) == State.HANDED_OVER  # the task, run here
    filing.refresh_from_db()
    assert send(filing.document) == Document.Status.SENT
    BookFiling.objects.filter(pk=filing.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert sweep_book_filings(stale_after_seconds=120) == 0
    assert prepare_book_filing(filing.pk) == State.HANDED_OVER
    assert sales_at_the_sandbox(administration).count() == 1 and Document.objects.count() == 1


def test_the_tasks_are_registered_and_the_sweeper_scheduled():
    from portal.celery import app

    assert {"invoicing.book_tasks.prepare_book_filing", "invoicing.book_tasks.sweep_book_filings"} <= set(app.tasks)
    schedule = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "invoicing.book_tasks.sweep_book_filings" in schedule


def test_an_upload_whose_answer_is_lost_is_held_and_not_sent_again(
    live_clearvo, administration, member, prepared, quiet
):
    invoice = accepted_at_once(administration, member)
    document = handed_over(invoice)
    fail_next("clearfacts-graphql", operation="uploadFile", when="after", kind="drop")

    assert send(document) == Document.Status.HELD

    document.refresh_from_db()
    assert document.reason_code == Document.Reason.OUTCOME_UNKNOWN
    assert sales_at_the_sandbox(administration).count() == 1, "Clearfacts kept it; only the answer was lost"
    documents.documents_sweep(stale_after=timedelta(0))
    assert books.book_filing_prepare(BookFiling.objects.get().pk) == State.HANDED_OVER
    assert send(document) == "not claimable"
    document.refresh_from_db()
    assert document.status == Document.Status.HELD and Document.objects.count() == 1
    assert sales_at_the_sandbox(administration).count() == 1


def test_a_worker_that_died_mid_send_leaves_one_upload(live_clearvo, administration, member, prepared, quiet):
    """Simulated: the worker claimed the document and died before the file went out (its lease runs
    out, the sweeper queues it again); the real-worker kill is tests/clearfacts_app/test_document_crash.py."""
    invoice = accepted_at_once(administration, member)
    document = handed_over(invoice)
    died = timezone.now() - timedelta(seconds=1)
    Document.objects.filter(pk=document.pk).update(status=Document.Status.SENDING, sending_until=died, attempts=1)

    assert documents.documents_sweep(stale_after=timedelta(minutes=5)) == [document.pk]
    assert send(document) == Document.Status.SENT
    assert sales_at_the_sandbox(administration).count() == 1
    assert books.book_filings_sweep(stale_after=timedelta(0)) == 0


def test_a_worker_that_died_after_the_file_went_out_leaves_it_held(
    live_clearvo, administration, member, prepared, quiet
):
    invoice = accepted_at_once(administration, member)
    document = handed_over(invoice)
    assert send(document) == Document.Status.SENT  # Clearfacts has it; the answer never reached the dead worker
    died = timezone.now() - timedelta(seconds=1)
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.SENDING, sending_until=died, handed_over_at=died, sent_at=None
    )

    documents.documents_sweep(stale_after=timedelta(minutes=5))

    document.refresh_from_db()
    assert document.status == Document.Status.HELD and send(document) == "not claimable"
    assert sales_at_the_sandbox(administration).count() == 1


def test_with_the_setting_off_nothing_is_filed_or_uploaded(live_clearvo, administration, member, prepared, quiet):
    InvoicingProfile.objects.filter(administration=administration).update(file_in_books=False)

    invoice = accepted_at_once(administration, member)

    assert not BookFiling.objects.exists() and prepared == []
    assert books.book_filings_request([invoice.pk]) == []
    assert books.book_filings_sweep(stale_after=timedelta(0)) == 0
    assert not Document.objects.exists() and not sales_at_the_sandbox(administration).exists()


# --- the invoice page ---


def test_the_invoice_page_shows_the_handover_and_links_to_the_document(
    live_clearvo, client, administration, member, viewer, prepared, quiet
):
    invoice = accepted_at_once(administration, member)
    client.force_login(viewer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    pending = client.get(page_url(invoice))
    assert 'data-testid="book-filing" data-state="pending"' in pending.text and "Being prepared" in pending.text
    assert client.get(page_url(invoice, "books"), headers=HTMX).status_code == 200, "asks again while it moves"

    document = handed_over(invoice)
    queued = client.get(page_url(invoice, "books"), headers=HTMX)
    assert queued.status_code == 200 and 'data-document-status="queued"' in queued.text
    link = f'href="/administrations/{administration.company_number}/documents/{document.pk}/"'
    assert link in queued.text and "Queued" in queued.text

    send(document)
    done = client.get(page_url(invoice, "books"), headers=HTMX)
    assert done.status_code == 286 and 'data-document-status="sent"' in done.text and link in done.text
    assert link in client.get(page_url(invoice)).text


def test_the_invoice_page_says_when_the_administration_does_not_file(client, administration, member):
    InvoicingProfile.objects.create(administration=administration, file_in_books=False)
    invoice = make_invoice(administration, member, status=Invoice.Status.ACCEPTED)
    client.force_login(member)

    response = client.get(page_url(invoice, "books"), headers=HTMX)

    assert response.status_code == 286 and 'data-state="off"' in response.text


def test_an_outsider_gets_a_404_for_the_handover(client, administration, member, outsider):
    invoice = make_invoice(administration, member, status=Invoice.Status.ACCEPTED)
    client.force_login(outsider)

    assert client.get(page_url(invoice, "books"), headers=HTMX).status_code == 404


# --- the list action ---


def bulk(client, *ids):
    return client.post("/invoices/books/", {"invoice": [str(pk) for pk in ids], "next": "/invoices/"})


def test_the_list_action_files_accepted_invoices_without_a_filing_and_says_what_happened_to_each(
    client, administration, member, other_administration, outsider, prepared
):
    old = make_invoice(administration, member, invoice_number="2025-0001", status=Invoice.Status.ACCEPTED)
    draft = make_invoice(administration, member, invoice_number="2026-0002")
    foreign = make_invoice(other_administration, outsider, invoice_number="2026-0003", status=Invoice.Status.ACCEPTED)
    client.force_login(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    listing = client.get("/invoices/")
    assert 'form="bulk-books"' in listing.text and f'value="{old.pk}"' in listing.text

    response = bulk(client, old.pk, draft.pk, foreign.pk)

    assert response.status_code == 200
    filing = BookFiling.objects.get()
    assert filing.invoice == old and filing.requested_by == member and prepared == [filing.pk]
    rows = response.text.split('data-testid="bulk-result"')[1:]
    assert 'data-filed="true"' in rows[0] and "2025-0001" in rows[0]
    assert 'data-filed="false"' in rows[1] and "Only accepted invoices" in rows[1]
    assert "Not among the invoices you can see." in rows[2] and "2026-0003" not in response.text
    assert not BookFiling.objects.filter(invoice=foreign).exists()

    again = bulk(client, old.pk)
    assert "Already filed in the books." in again.text and BookFiling.objects.count() == 1


def test_the_list_action_files_nothing_for_a_role_that_may_not_submit(client, administration, member, viewer, prepared):
    """A list action across administrations answers row by row (clearfacts_app.roles.checks_each_row)."""
    invoice = make_invoice(administration, member, status=Invoice.Status.ACCEPTED)
    client.force_login(viewer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = bulk(client, invoice.pk)

    assert response.status_code == 200
    assert f"Your role on {administration.name} does not let you file its invoices in the books." in response.text
    assert client.get("/invoices/books/").status_code in (403, 405)
    assert not BookFiling.objects.exists()


def test_the_list_action_files_nothing_where_the_setting_is_off(client, administration, member, prepared):
    InvoicingProfile.objects.create(administration=administration, file_in_books=False)
    invoice = make_invoice(administration, member, status=Invoice.Status.ACCEPTED)
    client.force_login(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = bulk(client, invoice.pk)

    assert "does not send accepted invoices to its books" in response.text and not BookFiling.objects.exists()


# --- the staff admin ---


def test_filings_are_read_only_in_the_admin(admin_client, administration, member):
    invoice = make_invoice(administration, member, invoice_number="2026-0042", status=Invoice.Status.ACCEPTED)
    filing = BookFiling.objects.create(invoice=invoice)

    listing = admin_client.get("/admin/invoicing/bookfiling/?q=2026-0042")
    assert listing.status_code == 200 and "2026-0042" in listing.text
    page = admin_client.get(f"/admin/invoicing/bookfiling/{filing.pk}/change/")
    assert page.status_code == 200 and 'name="state"' not in page.text
    admin_client.post(f"/admin/invoicing/bookfiling/{filing.pk}/change/", {"state": State.FAILED})
    filing.refresh_from_db()
    assert filing.state == State.PENDING
    assert admin_client.get("/admin/invoicing/bookfiling/add/").status_code == 403


def test_a_ubl_that_cannot_be_built_fails_the_filing_and_uploads_nothing(
    live_clearvo, monkeypatch, administration, member, prepared, quiet
):
    invoice = accepted_at_once(administration, member)

    def broken(invoice):
        raise ValueError("no buyer endpoint")

    monkeypatch.setattr(books, "invoice_ubl", broken)
    filing = BookFiling.objects.get(invoice=invoice)

    assert books.book_filing_prepare(filing.pk) == State.FAILED
    filing.refresh_from_db()
    assert filing.error == "ValueError: no buyer endpoint" and filing.document is None
    assert books.book_filings_sweep(stale_after=timedelta(0)) == 0 and not Document.objects.exists()


def test_a_failed_filing_starts_again_from_the_list_action_and_files_once(
    live_clearvo, monkeypatch, client, administration, member, prepared, quiet
):
    invoice = accepted_at_once(administration, member)
    filing = BookFiling.objects.get(invoice=invoice)
    built = books.invoice_ubl

    def broken(invoice):
        raise ValueError("a bug")

    monkeypatch.setattr(books, "invoice_ubl", broken)
    assert books.book_filing_prepare(filing.pk) == State.FAILED
    monkeypatch.setattr(books, "invoice_ubl", built)  # the cause fixed
    client.force_login(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(f"/administrations/{administration.company_number}/invoices/{invoice.pk}/").text
    assert 'data-state="failed"' in page and "use “File in the books” to try again" in page
    client.force_login(member)

    response = bulk(client, invoice.pk)

    assert 'data-filed="true"' in response.text
    filing.refresh_from_db()
    assert filing.state == State.PENDING and filing.error == "" and filing.requested_by == member
    assert prepared[-1] == filing.pk
    assert books.book_filing_prepare(filing.pk) == State.HANDED_OVER
    assert "Already filed in the books." in bulk(client, invoice.pk).text  # handed over: never a second document
    assert Document.objects.count() == 1 and BookFiling.objects.count() == 1


# --- the setting, on the invoicing profile page ---


def test_an_office_administrator_turns_the_filing_off_on_the_profile_page(client, owner, administration):
    from tests.invoicing.test_profile import url, valid_post

    client.force_login(owner)
    assert 'name="file_in_books"' in client.get(url(administration)).text

    fields = valid_post()
    del fields["file_in_books"]  # an unticked box is not posted
    assert client.post(url(administration), fields).status_code == 302
    assert InvoicingProfile.objects.get(administration=administration).file_in_books is False
