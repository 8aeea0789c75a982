"""Activity rows: each document action records who did what, in the transaction of the change."""

import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from clearfacts_app import documents
from clearfacts_app.activity import activity_record
from clearfacts_app.filetypes import FileKind
from clearfacts_app.models import Activity, Document
from clearfacts_app.tasks import send_document
from tests import samples
from tests.factories import make_document

Status = Document.Status


@pytest.fixture
def broker(monkeypatch):
    """The documents handed to the broker (instead of to a worker)."""
    sent = []
    monkeypatch.setattr(send_document, "delay", sent.append)
    return sent


def stored_document(administration, uploader, status) -> Document:
    document = make_document(administration, uploader, status=status)
    document.file.save("factuur.pdf", io.BytesIO(samples.pdf()), save=True)
    return document


def create(administration, uploader) -> Document:
    content = samples.pdf()
    return documents.document_create(
        administration=administration,
        uploaded_by=uploader,
        filename="factuur.pdf",
        content=ContentFile(content),
        sha256="a" * 64,
        kind=FileKind.PDF,
        destination=Document.Destination.INBOX,
        invoice_type=Document.InvoiceType.PURCHASE,
    )


ACTIONS = [
    ("retry", Status.FAILED, "document.retried", Status.QUEUED),
    ("send", Status.HELD, "document.sent_anyway", Status.QUEUED),
    ("cancel", Status.NEEDS_SIGN_IN, "document.cancelled", Status.CANCELLED),
]


@pytest.mark.parametrize("action, status, code, after", ACTIONS)
def test_each_document_action_records_one_activity_row_with_who_and_what(
    client, member, administration, owner, broker, action, status, code, after
):
    document = stored_document(administration, owner, status)
    client.force_login(member)

    response = client.post(
        reverse(f"clearfacts_app:document-{action}", args=[administration.company_number, document.pk])
    )

    assert response.status_code == 302
    document.refresh_from_db()
    assert document.status == after
    activity = Activity.objects.get()
    assert (activity.administration, activity.actor, activity.action) == (administration, member, code)
    assert activity.data == {"document": document.pk, "filename": "factuur.pdf"}


def test_an_upload_records_one_activity_row(administration, member, broker):
    document = create(administration, member)

    activity = Activity.objects.get()
    assert (activity.administration, activity.actor, activity.action) == (administration, member, "document.uploaded")
    assert activity.data == {"document": document.pk, "filename": "factuur.pdf"}


@pytest.mark.parametrize("action, status, code, after", ACTIONS)
def test_an_action_the_status_forbids_changes_nothing_and_records_nothing(
    client, member, administration, owner, broker, action, status, code, after
):
    document = stored_document(administration, owner, Status.SENT)
    client.force_login(member)

    client.post(reverse(f"clearfacts_app:document-{action}", args=[administration.company_number, document.pk]))

    document.refresh_from_db()
    assert document.status == Status.SENT
    assert not Activity.objects.exists() and broker == []


SERVICES = {
    "retry": documents.document_retry,
    "send": documents.document_send_anyway,
    "cancel": documents.document_cancel,
}


class Broken(Exception):
    pass


def fail(*args, **kwargs):
    raise Broken


@pytest.mark.parametrize("action, status, code, after", ACTIONS[:2])
def test_a_state_change_that_fails_records_no_activity(
    administration, member, action, status, code, after, monkeypatch
):
    document = stored_document(administration, member, status)
    monkeypatch.setattr(documents, "_dispatch", fail)  # fails after the status and the row were written

    with pytest.raises(Broken):
        SERVICES[action](document=document, actor=member)

    document.refresh_from_db()
    assert document.status == status
    assert not Activity.objects.exists()


def test_an_upload_that_fails_records_no_activity(administration, member, monkeypatch):
    monkeypatch.setattr(documents, "_dispatch", fail)

    with pytest.raises(Broken):
        create(administration, member)

    assert not Document.objects.exists() and not Activity.objects.exists()


@pytest.mark.parametrize("action, status, code, after", ACTIONS)
def test_an_activity_that_cannot_be_recorded_undoes_the_state_change(
    administration, member, broker, action, status, code, after, monkeypatch
):
    document = stored_document(administration, member, status)
    monkeypatch.setattr(documents, "activity_record", fail)

    with pytest.raises(Broken):
        SERVICES[action](document=document, actor=member)

    document.refresh_from_db()
    assert document.status == status and document.file.storage.exists(document.file.name)
    assert broker == []


def test_activity_is_recorded_only_inside_a_transaction(transactional_db, administration, member):
    with pytest.raises(RuntimeError):
        activity_record(administration=administration, actor=member, action="document.retried", data={})

    assert not Activity.objects.exists()


def test_activity_rows_are_read_only_in_the_admin(admin_client, administration, member):
    activity = Activity.objects.create(
        office=administration.office, administration=administration, actor=member, action="document.retried"
    )

    listing = admin_client.get(reverse("admin:clearfacts_app_activity_changelist"))
    change = admin_client.post(reverse("admin:clearfacts_app_activity_change", args=[activity.pk]), {"action": "x"})
    delete = admin_client.post(reverse("admin:clearfacts_app_activity_delete", args=[activity.pk]), {"post": "yes"})

    assert listing.status_code == 200 and "document.retried" in listing.text
    assert admin_client.get(reverse("admin:clearfacts_app_activity_add")).status_code == 403
    assert change.status_code == 403 and delete.status_code == 403
    activity.refresh_from_db()
    assert activity.action == "document.retried"


def test_every_dispatch_waits_for_the_commit(administration, member, broker, django_capture_on_commit_callbacks):
    failed = stored_document(administration, member, Status.FAILED)
    lost = stored_document(administration, member, Status.QUEUED)
    Document.objects.filter(pk=lost.pk).update(updated_at=lost.updated_at.replace(year=2000))

    with django_capture_on_commit_callbacks() as callbacks:
        documents.document_retry(document=failed, actor=member)
        documents.documents_sweep(stale_after=timedelta(minutes=5))
        assert broker == [], "nothing reaches the broker before the commit"

    for callback in callbacks:
        callback()
    assert sorted(broker) == sorted([failed.pk, lost.pk])
