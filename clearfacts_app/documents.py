"""Documents: recorded first, sent by a Celery task after commit, retried, swept, never lost.

Sending claims the document with a lease (`sending_until`), renewed while the file goes out. A
task that dies mid-file leaves it SENDING until the lease runs out; the sweeper then queues it
again (up to MAX_CRASHES times). Whenever Clearfacts may have the file without our knowing (the
whole file went out, then no usable answer, or the task died waiting for it) the document is held
for the user, as is a file already on its way to the same administration: sending either again
could make a second copy, and Clearfacts offers no way to ask.
"""

import logging
import time
import uuid
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import ClearfactsCredential
from clearfacts_app import client
from clearfacts_app.activity import activities_record, activity_record
from clearfacts_app.filetypes import FileKind
from clearfacts_app.models import Activity, Administration, Document, Notification
from clearfacts_app.notifications import notify
from clearfacts_app.roles import Action, can
from clearfacts_app.tasks import send_document

logger = logging.getLogger(__name__)

Status = Document.Status
# Longer than any stretch of a send that does not renew it: getting a token (a refresh included),
# connecting, one chunk going out, waiting for Clearfacts' answer.
SEND_LEASE = timedelta(minutes=5)
LEASE_RENEWAL_SECONDS = 30
SWEEP_BATCH = 500
MAX_CRASHES = 3
# What the same file already uploaded to the administration is doing: it will (or did) arrive.
ON_ITS_WAY = {Status.QUEUED, Status.SENDING, Status.SENT, Status.HELD, Status.NEEDS_SIGN_IN}


Reason = Document.Reason
NO_REASON = {"reason_code": "", "reason_params": {}}


def _reason(code: str, **params) -> dict:
    """The fields that record why a document is held, failed or waiting (translated when shown)."""
    return {"reason_code": code, "reason_params": params}


def _dispatch(document_id: int) -> None:
    """Hands the document to a worker once the transaction that queued it commits (at once outside one)."""
    send_document.delay_on_commit(document_id)


def _record(document: Document, *, actor, action: str, changes: dict | None = None, **data) -> None:
    activity_record(
        administration=document.administration,
        actor=actor,
        action=action,
        data={"document": document.pk, "filename": document.filename, **data},
        changes=changes,
    )


STATUS_CHANGED = "document.status_changed"


def _status_rows(rows, before: str, after: str, *, actor_id=None, reason: str = "") -> list[Activity]:
    """The activity rows of a bulk status change; `rows` are (pk, filename, administration id, office id)."""
    return [
        Activity(
            office_id=office_id,
            administration_id=administration_id,
            actor_id=actor_id,
            action=STATUS_CHANGED,
            data={"document": pk, "filename": filename, "status": after, "reason": reason},
            changes={"status": [before, after]},
        )
        for pk, filename, administration_id, office_id in rows
    ]


ROW_FIELDS = ("pk", "filename", "administration_id", "administration__office_id")


def document_create(
    *,
    administration: Administration,
    uploaded_by,
    filename: str,
    content: File,
    sha256: str,
    kind: FileKind,
    destination: str,
    invoice_type: str = "",
    archive_type: str = "",
    archive_category: dict | None = None,
) -> Document:
    """Stores `content` (whose SHA-256 is `sha256`) and records the document; its sending starts
    after commit.

    The same file already uploaded to this administration, and not given up on, is held for
    confirmation.
    """
    with transaction.atomic():
        # One upload at a time per administration, so two copies of a file cannot both pass the check.
        Administration.objects.select_for_update().filter(pk=administration.pk).first()
        duplicate = administration.documents.filter(sha256=sha256, status__in=ON_ITS_WAY).exists()
        document = Document(
            administration=administration,
            uploaded_by=uploaded_by,
            destination=destination,
            invoice_type=invoice_type if destination == Document.Destination.INBOX else "",
            archive_type=archive_type if destination == Document.Destination.ARCHIVE else "",
            archive_category_id=(archive_category or {}).get("id", ""),
            archive_category_name=(archive_category or {}).get("name", ""),
            filename=filename,
            content_type=kind.value,
            size=content.size,
            sha256=sha256,
            status=Status.HELD if duplicate else Status.QUEUED,
            **(_reason(Reason.DUPLICATE) if duplicate else NO_REASON),
        )
        # Stored under a name of the portal's making with the kind's extension, never the user's.
        document.file.save(f"{uuid.uuid4().hex}{kind.extension}", content, save=False)
        document.save()
        Administration.objects.filter(pk=administration.pk).update(document_count=F("document_count") + 1)
        _record(document, actor=uploaded_by, action="document.uploaded")
        if not duplicate:
            _dispatch(document.pk)
    return document


def _claim(document_id: int) -> Document | None:
    now = timezone.now()
    claimed = Document.objects.filter(pk=document_id, status=Status.QUEUED).update(
        status=Status.SENDING,
        sending_until=now + SEND_LEASE,
        sending_started_at=now,
        handed_over_at=None,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if not claimed:
        return None
    return Document.objects.select_related("administration", "uploaded_by").get(pk=document_id)


class _SendLease:
    """Renews the claim while the file goes out, and records when all of it has (the `progress`
    of client.upload)."""

    def __init__(self, document: Document):
        self.claim = Document.objects.filter(
            pk=document.pk, status=Status.SENDING, sending_started_at=document.sending_started_at
        )
        self.renewed = time.monotonic()
        self.handed_over = False

    def __call__(self, finished: bool) -> None:
        if finished and not self.handed_over:
            self.handed_over = True
            self.claim.update(handed_over_at=timezone.now(), sending_until=timezone.now() + SEND_LEASE)
        elif time.monotonic() - self.renewed >= LEASE_RENEWAL_SECONDS:
            self.renewed = time.monotonic()
            self.claim.update(sending_until=timezone.now() + SEND_LEASE)


def _finish(document: Document, status: str, **fields) -> None:
    """A send's outcome, with its activity row (the portal's doing: no actor); a problem is told to the uploader."""
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(
            status=status, sending_until=None, updated_at=timezone.now(), **fields
        )
        _record(
            document,
            actor=None,
            action=STATUS_CHANGED,
            changes={"status": [Status.SENDING, status]},
            status=status,
            reason=fields.get("reason_code", ""),
        )
        if status in (Status.HELD, Status.FAILED):
            _tell_uploaders([document.pk])


def _tell_uploaders(document_ids: list[int]) -> None:
    """Notifies the uploader of each document (now HELD or FAILED) once per document and status;
    call it in the transaction that set the status."""
    problems = Document.objects.filter(pk__in=document_ids, status__in=(Status.HELD, Status.FAILED))
    for document in problems.select_related("administration", "uploaded_by"):
        administration = document.administration
        notify(
            recipients=[document.uploaded_by],
            administration=administration,
            kind=Notification.Kind.DOCUMENT_PROBLEM,
            key=f"document:{document.pk}:{document.status}",
            data={
                "document": document.pk,
                "filename": document.filename,
                "status": document.status,
                "reason_code": document.reason_code,
                "reason_params": document.reason_params,
            },
            url=reverse(
                "clearfacts_app:document-detail",
                kwargs={"company_number": administration.company_number, "document_pk": document.pk},
            ),
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
    # The uploader's right is checked again now, before the file goes out under their sign-in: a role
    # lowered (or a grant withdrawn) since the upload sends nothing. Every attempt asks, not only the
    # first: a document is sent again only when nothing reached Clearfacts (held ones are a person's
    # choice), so refusing never leaves a half-done send, and a book filing uploading as its submitter
    # cannot upload for someone who lost UPLOAD.
    if not can(document.uploaded_by, Action.UPLOAD, administration):
        _finish(document, Status.FAILED, **_reason(Reason.NOT_ALLOWED, user=str(document.uploaded_by)))
        logger.info("document %s: %s may no longer upload; not sent", document.pk, document.uploaded_by_id)
        return Status.FAILED
    filename = document.clearfacts_filename
    variables = {"vatnumber": administration.company_number, "filename": filename}
    if document.destination == Document.Destination.INBOX:
        operation = "UploadFile"
        variables |= {"invoicetype": document.invoice_type}
    else:
        operation = "UploadArchiveFile"
        variables |= {"type": document.archive_type, "category": document.archive_category_id}
    lease = _SendLease(document)
    try:
        with document.file.open("rb") as stream:
            uploaded = client.upload(
                user=document.uploaded_by,
                operation=operation,
                variables=variables,
                stream=stream,
                filename=filename,
                content_type=document.content_type,
                progress=lease,
            )
    except FileNotFoundError:
        _finish(document, Status.FAILED, **_reason(Reason.FILE_MISSING))
        return Status.FAILED
    except client.NotAuthorized:
        _finish(document, Status.NEEDS_SIGN_IN, **_reason(Reason.SIGN_IN_REFUSED, user=str(document.uploaded_by)))
        return Status.NEEDS_SIGN_IN
    except client.Unavailable as error:
        if last_attempt:
            _finish(document, Status.FAILED, **_reason(Reason.GAVE_UP, count=document.attempts))
            return Status.FAILED
        logger.info("document %s: Clearfacts unavailable (%r); tried again later", document.pk, str(error))
        _finish(document, Status.QUEUED, **_reason(Reason.UNREACHABLE))
        raise
    except client.OutcomeUnknown as error:
        logger.warning("document %s: outcome of the upload unknown (%r)", document.pk, str(error))
        _finish(document, Status.HELD, **_reason(Reason.OUTCOME_UNKNOWN))
        return Status.HELD
    except SoftTimeLimitExceeded:
        if lease.handed_over:
            _finish(document, Status.HELD, **_reason(Reason.OUTCOME_UNKNOWN))
            return Status.HELD
        _finish(document, Status.FAILED, **_reason(Reason.TOO_SLOW, minutes=settings.DOCUMENT_SEND_TIME_LIMIT // 60))
        return Status.FAILED
    except client.ClearfactsError as error:
        _finish(document, Status.FAILED, **_reason(Reason.REFUSED, message=error.message or str(error)))
        return Status.FAILED
    _finish(
        document,
        Status.SENT,
        clearfacts_uuid=uploaded["uuid"],
        amount_of_pages=uploaded.get("amountOfPages"),
        sent_at=timezone.now(),
        **NO_REASON,
    )
    logger.info("document %s sent to Clearfacts", document.pk)
    return Status.SENT


def _requeue(*, document: Document, actor, allowed_from: set[str], action: str) -> bool:
    """Queues a document again and records who did; False (and nothing recorded) if its status forbids it."""
    with transaction.atomic():
        updated = Document.objects.filter(pk=document.pk, status__in=allowed_from).update(
            status=Status.QUEUED, crashes=0, updated_at=timezone.now(), **NO_REASON
        )
        if updated:
            _record(document, actor=actor, action=action, changes={"status": [document.status, Status.QUEUED]})
            _dispatch(document.pk)
    return bool(updated)


def document_retry(*, document: Document, actor) -> bool:
    return _requeue(document=document, actor=actor, allowed_from=Document.RETRYABLE, action="document.retried")


def document_send_anyway(*, document: Document, actor) -> bool:
    return _requeue(
        document=document, actor=actor, allowed_from=Document.SENDABLE_ANYWAY, action="document.sent_anyway"
    )


def document_cancel(*, document: Document, actor) -> bool:
    """Gives up on a document that was not sent; its stored file is deleted."""
    with transaction.atomic():
        updated = Document.objects.filter(pk=document.pk, status__in=Document.CANCELLABLE).update(
            status=Status.CANCELLED, updated_at=timezone.now()
        )
        if updated:
            changes = {"status": [document.status, Status.CANCELLED]}
            _record(document, actor=actor, action="document.cancelled", changes=changes)
    if updated:
        document.file.delete(save=False)  # only once the cancellation is kept
    return bool(updated)


def documents_resume(*, user_id: int) -> int:
    """After a new sign-in, the user's documents that waited for it are queued again."""
    with transaction.atomic():
        rows = list(
            Document.objects.select_for_update(of=("self",))
            .filter(uploaded_by_id=user_id, status=Status.NEEDS_SIGN_IN)
            .values_list(*ROW_FIELDS)
        )
        waiting = [row[0] for row in rows]
        Document.objects.filter(pk__in=waiting, status=Status.NEEDS_SIGN_IN).update(
            status=Status.QUEUED, updated_at=timezone.now(), **NO_REASON
        )
        activities_record(_status_rows(rows, Status.NEEDS_SIGN_IN, Status.QUEUED, actor_id=user_id, reason="signed-in"))
        for pk in waiting:
            _dispatch(pk)  # one cancelled meanwhile is not claimable: its task does nothing
    return len(waiting)


def documents_sweep(*, stale_after: timedelta) -> list[int]:
    """Sends again what a lost task left behind; returns the documents dispatched.

    Queued documents untouched for `stale_after` (their task was lost), touched when dispatched so
    that a slow broker does not get them every minute. Documents whose sending lease ran out (their
    worker died): queued again if the file had not fully gone out (up to MAX_CRASHES times), held
    for the user if it had. Documents waiting for a sign-in resume once the user has a valid
    credential again.
    """
    now = timezone.now()
    held, given_up, crashed_ids = _sweep_crashed(now)
    lost = Document.objects.filter(status=Status.QUEUED, updated_at__lt=now - stale_after)
    lost_ids = list(lost.values_list("pk", flat=True)[:SWEEP_BATCH])
    lost.filter(pk__in=lost_ids).update(updated_at=now)
    stale = crashed_ids + lost_ids
    for pk in stale:
        _dispatch(pk)
    signed_in_again = Document.objects.filter(
        status=Status.NEEDS_SIGN_IN,
        uploaded_by__clearfacts_credential__status=ClearfactsCredential.Status.VALID,
        uploaded_by__clearfacts_credential__issued_at__gt=F("updated_at"),
    ).values_list("uploaded_by_id", flat=True)
    for user_id in set(signed_in_again[:SWEEP_BATCH]):
        documents_resume(user_id=user_id)
    if stale or held or given_up:
        logger.info("sweeper: %d documents queued again, %d held, %d given up", len(stale), held, given_up)
    return stale


def _sweep_crashed(now) -> tuple[int, int, list[int]]:
    """Documents whose sending lease ran out: held (the whole file had gone out), failed (too many
    crashes) or queued again; each change with its activity row. Returns (held, failed, queued ids)."""
    crashed = Document.objects.filter(status=Status.SENDING, sending_until__lt=now)
    locked = crashed.select_for_update(of=("self",))
    with transaction.atomic():
        held = list(locked.filter(handed_over_at__isnull=False).values_list(*ROW_FIELDS))
        crashed.filter(pk__in=[row[0] for row in held]).update(
            status=Status.HELD, sending_until=None, updated_at=now, **_reason(Reason.OUTCOME_UNKNOWN)
        )
        activities_record(_status_rows(held, Status.SENDING, Status.HELD, reason=Reason.OUTCOME_UNKNOWN))
        _tell_uploaders([row[0] for row in held])
    with transaction.atomic():
        given_up = list(locked.filter(crashes__gte=MAX_CRASHES - 1).values_list(*ROW_FIELDS))
        crashed.filter(pk__in=[row[0] for row in given_up]).update(
            status=Status.FAILED, sending_until=None, updated_at=now, **_reason(Reason.INTERRUPTED, count=MAX_CRASHES)
        )
        activities_record(_status_rows(given_up, Status.SENDING, Status.FAILED, reason=Reason.INTERRUPTED))
        _tell_uploaders([row[0] for row in given_up])
    with transaction.atomic():
        requeued = list(locked.values_list(*ROW_FIELDS)[:SWEEP_BATCH])
        crashed.filter(pk__in=[row[0] for row in requeued]).update(
            status=Status.QUEUED, sending_until=None, crashes=F("crashes") + 1, updated_at=now
        )
        activities_record(_status_rows(requeued, Status.SENDING, Status.QUEUED, reason=Reason.INTERRUPTED))
    return len(held), len(given_up), [row[0] for row in requeued]


def documents_remove_sent_files(*, retention: timedelta) -> int:
    """Deletes the portal's copy of documents Clearfacts confirmed more than `retention` ago.

    The row stays (the list, the page and the duplicate check need it) and records when its file
    was removed. Returns how many files were removed.
    """
    now = timezone.now()
    expired = Document.objects.filter(status=Status.SENT, sent_at__lt=now - retention, file_removed_at__isnull=True)
    removed = 0
    for document in expired.only("pk", "file")[:SWEEP_BATCH]:
        if document.file:
            document.file.delete(save=False)  # a file already gone is no error
        removed += Document.objects.filter(pk=document.pk, file_removed_at__isnull=True).update(
            file="", file_removed_at=now
        )
    if removed:
        logger.info("removed the local copy of %d sent documents", removed)
    return removed
