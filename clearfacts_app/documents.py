"""Documents: recorded first, sent by a Celery task after commit, retried, swept, never lost.

Sending claims the document with a lease (`sending_until`): a task that dies mid-upload leaves
it SENDING until the lease runs out, then the sweeper queues it again. A file already sent to the
same administration is held until the user confirms.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ClearfactsCredential
from clearfacts_app import client
from clearfacts_app.filetypes import FileKind
from clearfacts_app.models import Administration, Document

logger = logging.getLogger(__name__)

Status = Document.Status
# Longer than a task may run (CELERY_TASK_TIME_LIMIT), so a live task never loses its claim.
SEND_LEASE = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
SWEEP_BATCH = 500


def _send(document_id: int) -> None:
    from clearfacts_app.tasks import send_document  # the tasks module imports this one

    send_document.delay(document_id)


def _dispatch(document_id: int) -> None:
    transaction.on_commit(lambda: _send(document_id))


def document_create(
    *,
    user,
    administration: Administration,
    uploaded,
    kind: FileKind,
    destination: str,
    invoice_type: str = "",
    archive_type: str = "",
    archive_category: dict | None = None,
) -> Document:
    """Stores the uploaded file and records the document; its sending starts after commit.

    The same file (SHA-256) already sent to this administration is held for confirmation.
    """
    already_sent = administration.documents.filter(sha256=uploaded.sha256, status=Status.SENT).exists()
    with transaction.atomic():
        document = Document(
            administration=administration,
            uploaded_by=user,
            destination=destination,
            invoice_type=invoice_type if destination == Document.Destination.INBOX else "",
            archive_type=archive_type if destination == Document.Destination.ARCHIVE else "",
            archive_category_id=(archive_category or {}).get("id", ""),
            archive_category_name=(archive_category or {}).get("name", ""),
            filename=uploaded.name,
            content_type=kind.value,
            size=uploaded.size,
            sha256=uploaded.sha256,
            status=Status.HELD if already_sent else Status.QUEUED,
        )
        document.file.save(f"{uploaded.sha256[:16]}.{kind.name.lower()}", uploaded, save=False)
        document.save()
        if not already_sent:
            _dispatch(document.pk)
    return document


def _claim(document_id: int) -> Document | None:
    now = timezone.now()
    claimed = (
        Document.objects.filter(pk=document_id)
        .filter(Q(status=Status.QUEUED) | Q(status=Status.SENDING, sending_until__lt=now))
        .update(
            status=Status.SENDING,
            sending_until=now + SEND_LEASE,
            sending_started_at=now,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    if not claimed:
        return None
    return Document.objects.select_related("administration", "uploaded_by").get(pk=document_id)


def _finish(document: Document, status: str, **fields) -> None:
    Document.objects.filter(pk=document.pk).update(
        status=status, sending_until=None, updated_at=timezone.now(), **fields
    )


def document_send(*, document_id: int, last_attempt: bool) -> str:
    """Sends a queued document to Clearfacts (in a task); returns the status it ends in.

    Raises client.Unavailable (after putting the document back in the queue) when a later attempt
    may succeed, so that the task retries with backoff.
    """
    document = _claim(document_id)
    if document is None:
        return "not claimable"  # sent, cancelled, or another worker is sending it
    administration = document.administration
    if document.destination == Document.Destination.INBOX:
        operation = "UploadFile"
        variables = {"vatnumber": administration.company_number, "filename": document.filename,
                     "invoicetype": document.invoice_type}  # fmt: skip
    else:
        operation = "UploadArchiveFile"
        variables = {"vatnumber": administration.company_number, "filename": document.filename,
                     "type": document.archive_type, "category": document.archive_category_id}  # fmt: skip
    try:
        with document.file.open("rb") as stream:
            uploaded = client.upload(
                user=document.uploaded_by,
                operation=operation,
                variables=variables,
                stream=stream,
                filename=document.filename,
                content_type=document.content_type,
            )
    except client.NotAuthorized:
        _finish(document, Status.NEEDS_SIGN_IN, error=_("Clearfacts no longer accepts the sign-in of %(user)s.")
                % {"user": document.uploaded_by})  # fmt: skip
        return Status.NEEDS_SIGN_IN
    except client.Unavailable as error:
        if last_attempt:
            _finish(document, Status.FAILED, error=_("Clearfacts could not be reached after %(count)d attempts.")
                    % {"count": document.attempts})  # fmt: skip
            return Status.FAILED
        _finish(document, Status.QUEUED, error=str(error))
        raise
    except client.ClearfactsError as error:
        _finish(document, Status.FAILED, error=error.message or str(error))
        return Status.FAILED
    _finish(
        document,
        Status.SENT,
        clearfacts_uuid=uploaded["uuid"],
        amount_of_pages=uploaded.get("amountOfPages"),
        sent_at=timezone.now(),
        error="",
    )
    logger.info("document %s sent to Clearfacts", document.pk)
    return Status.SENT


def document_requeue(*, document: Document, allowed_from: set[str]) -> bool:
    """Queues a document again (retry, or send a held one anyway); False if its status forbids it."""
    with transaction.atomic():
        updated = Document.objects.filter(pk=document.pk, status__in=allowed_from).update(
            status=Status.QUEUED, error="", updated_at=timezone.now()
        )
        if updated:
            _dispatch(document.pk)
    return bool(updated)


def document_retry(*, document: Document) -> bool:
    return document_requeue(document=document, allowed_from={Status.FAILED, Status.NEEDS_SIGN_IN})


def document_send_anyway(*, document: Document) -> bool:
    return document_requeue(document=document, allowed_from={Status.HELD})


def document_cancel(*, document: Document) -> bool:
    """Gives up on a document that was not sent; its stored file is deleted."""
    updated = Document.objects.filter(
        pk=document.pk, status__in={Status.FAILED, Status.NEEDS_SIGN_IN, Status.HELD}
    ).update(status=Status.CANCELLED, updated_at=timezone.now())
    if updated:
        document.file.delete(save=False)
    return bool(updated)


def documents_resume(*, user_id: int) -> int:
    """After a new sign-in, the user's documents that waited for it are queued again."""
    with transaction.atomic():
        waiting = list(
            Document.objects.filter(uploaded_by_id=user_id, status=Status.NEEDS_SIGN_IN).values_list("pk", flat=True)
        )
        Document.objects.filter(pk__in=waiting).update(status=Status.QUEUED, error="", updated_at=timezone.now())
        for pk in waiting:
            _dispatch(pk)
    return len(waiting)


def documents_sweep(*, stale_after: timedelta) -> list[int]:
    """Queues again what a lost task left behind; returns the documents dispatched.

    Queued documents untouched for `stale_after` (their task was lost) and documents whose
    sending lease ran out (their worker died). Documents waiting for a sign-in resume once the
    user has a valid credential again.
    """
    now = timezone.now()
    stale = list(
        Document.objects.filter(
            Q(status=Status.QUEUED, updated_at__lt=now - stale_after) | Q(status=Status.SENDING, sending_until__lt=now)
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in stale:
        _send(pk)
    signed_in_again = Document.objects.filter(
        status=Status.NEEDS_SIGN_IN,
        uploaded_by__clearfacts_credential__status=ClearfactsCredential.Status.VALID,
        uploaded_by__clearfacts_credential__issued_at__gt=F("updated_at"),
    ).values_list("uploaded_by_id", flat=True)
    for user_id in set(signed_in_again[:SWEEP_BATCH]):
        documents_resume(user_id=user_id)
    if stale:
        logger.info("sweeper queued %d documents again", len(stale))
    return stale
