"""Roles in invoicing where one request touches many rows, and where the task sends later.

Bulk actions across administrations check each row (one query) and say, per row, what they did not
do; the send task asks again before the first POST, and never abandons a key once one went out.
"""

import pytest

from clearfacts_app.models import AdministrationAccess
from clearfacts_app.roles import Role
from invoicing import books
from invoicing.models import BookFiling, Invoice, Submission
from invoicing.submissions import submission_send
from sandbox.clearvo.models import InvoiceSubmission
from tests.factories import make_administration
from tests.invoicing.editor_helpers import complete_profile
from tests.invoicing.submit_helpers import posts, ready_draft, submitted

State = Submission.State


def lowered(user, administration, role=Role.VIEWER):
    AdministrationAccess.objects.filter(user=user, administration=administration).update(role=role)


@pytest.fixture
def read_only_elsewhere(office, member):
    """A second administration where the member (an approver at home) only reads."""
    other = make_administration(office, "Slagerij Peeters BV")
    complete_profile(other)
    AdministrationAccess.objects.create(user=member, administration=other, role=Role.VIEWER)
    return other


def test_bulk_submit_sends_the_rows_allowed_and_refuses_the_others_one_by_one(
    live_clearvo, client, administration, member, read_only_elsewhere, dispatched
):
    mine = ready_draft(administration, member)
    theirs = ready_draft(read_only_elsewhere, member)
    client.force_login(member)

    response = client.post(
        "/invoices/submit/", {"invoice": [f"{mine.pk}:{mine.version}", f"{theirs.pk}:{theirs.version}"]}
    )

    assert response.status_code == 200
    assert list(Submission.objects.values_list("invoice_id", flat=True)) == [mine.pk]
    assert "does not let you submit its invoices" in response.text and "Slagerij Peeters BV" in response.text
    assert "1 sent, 1 refused" in response.text
    theirs.refresh_from_db()
    assert theirs.status == Invoice.Status.DRAFT


def test_bulk_file_in_books_files_the_rows_allowed_only(
    client, administration, member, read_only_elsewhere, monkeypatch
):
    complete_profile(administration)
    mine = ready_draft(administration, member, status=Invoice.Status.ACCEPTED)
    theirs = ready_draft(read_only_elsewhere, member, status=Invoice.Status.ACCEPTED)
    client.force_login(member)

    response = client.post("/invoices/books/", {"invoice": [mine.pk, theirs.pk]})

    assert response.status_code == 200
    assert list(BookFiling.objects.values_list("invoice_id", flat=True)) == [mine.pk]
    assert "does not let you file its invoices in the books" in response.text


def test_a_submitter_who_lost_the_right_before_the_first_post_sends_nothing(
    live_clearvo, client, administration, member, owner, dispatched
):
    submission = submitted(ready_draft(administration, member), member)
    lowered(member, administration, Role.DRAFTER)  # between the request and the task

    assert submission_send(submission.pk) == State.FAILED

    submission.refresh_from_db()
    assert submission.reason_code == Submission.Reason.NOT_ALLOWED and submission.attempts == 0
    assert not posts().exists() and InvoiceSubmission.objects.count() == 0
    assert submission.invoice.status == Invoice.Status.DRAFT
    client.force_login(owner)
    page = client.get(f"/administrations/{administration.company_number}/invoices/{submission.invoice.pk}/")
    assert "may no longer submit invoices of this administration" in page.text


def test_once_a_post_may_have_reached_clearvo_the_same_key_is_sent_again_whatever_the_role(
    live_clearvo, administration, member, dispatched
):
    submission = submitted(ready_draft(administration, member, "DE"), member)
    Submission.objects.filter(pk=submission.pk).update(state=State.RETRYING, attempts=1)  # an answer was lost
    lowered(member, administration)

    assert submission_send(submission.pk) == State.SENT
    assert posts(submission).count() == 1 and InvoiceSubmission.objects.count() == 1


def test_a_book_filing_never_uploads_for_a_submitter_without_upload(administration, member, monkeypatch):
    complete_profile(administration)
    invoice = ready_draft(administration, member, status=Invoice.Status.ACCEPTED)
    monkeypatch.setattr(books, "_dispatch", lambda filing_id: None)
    [filing_id] = books.book_filings_request([invoice.pk], requested_by=member)
    lowered(member, administration)

    assert books.book_filing_prepare(filing_id) == BookFiling.State.FAILED

    filing = BookFiling.objects.get()
    assert filing.document is None and filing.error == books.NOT_ALLOWED
