"""The clearance queue's actions (invoicing.cockpit): assign, check the status now, send again, hold.

Each service takes the item keys the queue posts ("invoice:<pk>", "document:<pk>") and returns one
`RowResult` per key, in the order given: done, or refused with the reason to show. A key that is not
well formed, or names an item the user cannot see (another tenant's included), is "not found": never
an error, never a hint that it exists. The rights are checked row by row with one query (`may_each`):
assigning and checking need DRAFT, sending again and holding SUBMIT (a document sent again, UPLOAD).
Each row changes in a transaction of its own, under its row lock, with its Activity row: one row
refused or failing leaves the others done.

- `assignees_for(administrations)`: who may be asked to take care of an administration's problems.
- `items_assign(*, user, keys, assignee)`: sets (or, with None, clears) who takes care of each item;
  the assignee is told (Notification ASSIGNED: the bell, and an e-mail if they want one).
- `items_poll(*, user, keys)`: asks Clearvo now for the status of each invoice it follows, within
  its rate limits.
- `items_retry(*, user, keys)`: sends again what waits for a person: a held or retrying submission
  (the same key and body), a failed book filing, a failed or signed-out document.
- `items_hold(*, user, keys)`: stops an unconfirmed send that is queued or retrying (`submission_hold`):
  nothing is sent until a person sends it again (same key) or releases it.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from clearfacts_app import documents
from clearfacts_app.activity import activity_record
from clearfacts_app.models import AdministrationAccess, Document, Notification
from clearfacts_app.notifications import notify
from clearfacts_app.roles import Action, Role, may_each, role_allows
from invoicing import books, explanations, polling
from invoicing.models import BookFiling, Invoice, Submission
from invoicing.submissions import CLAIMABLE, SubmitRefused, submission_retry
from invoicing.tasks import poll_submission

INVOICE, DOCUMENT = "invoice", "document"
# At most this many items in one post (the queue's page shows fewer).
LIMIT = 100
KEY = re.compile(r"(invoice|document):([1-9][0-9]{0,17})")
State = Submission.State
# Submission.reason_code of a send a person held (explained in invoicing.explanations.REASONS).
HELD_BY_PERSON = Submission.Reason.HELD_BY_PERSON
INVOICE_ASSIGNED, DOCUMENT_ASSIGNED = "invoice.assigned", "document.assigned"


@dataclass(frozen=True)
class RowResult:
    """What became of one posted item: `subject` names it ("Invoice 2026-0001", or the key as posted
    when it was not found), `reason` says why it was refused."""

    key: str
    done: bool
    subject: str
    reason: str = ""


def parse_key(text: str) -> tuple[str, int] | None:
    """("invoice" | "document", pk) of a well-formed key, else None."""
    match = KEY.fullmatch((text or "").strip())
    return (match[1], int(match[2])) if match else None


def _unique(keys) -> list[str]:
    seen = []
    for key in keys:
        key = str(key).strip()
        if key not in seen:
            seen.append(key)
    return seen


def _subject(kind: str, item) -> str:
    if kind == INVOICE:
        return _("Invoice %(number)s") % {"number": item.invoice_number}
    return _("Document %(filename)s") % {"filename": item.filename}


def _not_found(key: str) -> RowResult:
    return RowResult(key, False, key[:60], _("Not found among the items you can see."))


def _refused(kind: str, item, reason: str) -> RowResult:
    return RowResult(f"{kind}:{item.pk}", False, _subject(kind, item), reason)


def _done(kind: str, item) -> RowResult:
    return RowResult(f"{kind}:{item.pk}", True, _subject(kind, item))


def _rows(*, user, keys, action: str, document_action: str | None, refusal, act, prepare=None) -> list[RowResult]:
    """Loads the items of `keys` the user can see (two queries), checks the user's right on each
    row's administration (one), and calls `act(kind, item)` for each row they may act on.

    `document_action` None: the action does not apply to documents (each is refused as such).
    `refusal(kind, administration)` words a missing right. `prepare(administration ids)`, if given,
    is called once before the rows, with the administrations of the items found.
    """
    keys = _unique(keys)
    parsed = {key: parse_key(key) for key in keys}
    wanted = {INVOICE: set(), DOCUMENT: set()}
    for found in parsed.values():
        if found:
            wanted[found[0]].add(found[1])
    items = {
        INVOICE: Invoice.objects.visible_to(user).select_related("administration").in_bulk(wanted[INVOICE])
        if wanted[INVOICE]
        else {},
        DOCUMENT: Document.objects.visible_to(user).select_related("administration").in_bulk(wanted[DOCUMENT])
        if wanted[DOCUMENT]
        else {},
    }
    administration_ids = {item.administration_id for found in items.values() for item in found.values()}
    may = may_each(user, administration_ids)
    if prepare is not None:
        prepare(administration_ids)
    results = []
    for key in keys:
        found = parsed[key]
        item = items[found[0]].get(found[1]) if found else None
        if item is None:
            results.append(_not_found(key))
            continue
        kind = found[0]
        if kind == DOCUMENT and document_action is None:
            results.append(_refused(kind, item, _("This action is for invoices only.")))
            continue
        if not getattr(may[item.administration_id], action if kind == INVOICE else document_action):
            results.append(_refused(kind, item, refusal(kind, item.administration)))
            continue
        results.append(act(kind, item))
    return results


def person_name(user) -> str:
    return (user.get_full_name() or user.email or str(user)) if user is not None else ""


# Who may be assigned


def assignees_for(administrations) -> dict[int, list]:
    """{administration id: the active people who may READ it, by name}, in one query whatever the
    number of administrations (Administration objects or ids)."""
    ids = {getattr(administration, "pk", administration) for administration in administrations}
    found = {pk: [] for pk in ids}
    if not ids:
        return found
    grants = AdministrationAccess.objects.filter(
        administration_id__in=ids, user__is_active=True, user__membership__isnull=False
    ).select_related("user__membership", "administration")
    for grant in grants:
        membership = grant.user.membership
        if membership.office_id != grant.administration.office_id:
            continue  # a grant of another office's administration gives nothing (clearfacts_app.roles.role_on)
        role = Role.MANAGER if membership.is_office_admin and membership.is_associate else grant.role
        if role_allows(role, Action.READ):
            found[grant.administration_id].append(grant.user)
    for people in found.values():
        people.sort(key=lambda person: (person_name(person).casefold(), person.email, person.pk))
    return found


# Assigning


def _item_url(kind: str, item) -> str:
    company = item.administration.company_number
    if kind == INVOICE:
        return reverse("invoicing:invoice-detail", kwargs={"company_number": company, "invoice_pk": item.pk})
    return reverse("clearfacts_app:document-detail", kwargs={"company_number": company, "document_pk": item.pk})


def items_assign(*, user, keys, assignee) -> list[RowResult]:
    """Asks `assignee` (None: nobody) to take care of each item; refused on a row whose administration
    the user may not DRAFT on, or that the assignee cannot READ."""
    readers: dict[int, set[int]] = {}

    def prepare(administration_ids):
        if assignee is not None:
            found = assignees_for(administration_ids)
            readers.update({pk: {person.pk for person in people} for pk, people in found.items()})

    def act(kind, item):
        if assignee is not None and assignee.pk not in readers.get(item.administration_id, set()):
            return _refused(
                kind,
                item,
                _("%(name)s cannot see %(administration)s: choose someone who can.")
                % {"name": person_name(assignee), "administration": item.administration.name},
            )
        return _assign(kind, item, user=user, assignee=assignee)

    def refusal(kind, administration):
        return _("Your role on %(administration)s does not let you assign its problems.") % {
            "administration": administration.name
        }

    return _rows(
        user=user,
        keys=keys,
        action=Action.DRAFT,
        document_action=Action.DRAFT,
        refusal=refusal,
        act=act,
        prepare=prepare,
    )


def _assign(kind: str, item, *, user, assignee) -> RowResult:
    model = Invoice if kind == INVOICE else Document
    with transaction.atomic():
        locked = model.objects.select_for_update().filter(pk=item.pk).first()
        if locked is None:
            return _not_found(f"{kind}:{item.pk}")
        if locked.assignee_id == (assignee.pk if assignee else None):
            return _done(kind, item)  # already so: nothing to record, nobody to tell again
        before = locked.assignee
        now = timezone.now()
        model.objects.filter(pk=locked.pk).update(assignee=assignee, assigned_at=now if assignee else None)
        names = [person_name(before) or None, person_name(assignee) or None]
        if kind == INVOICE:
            about = {"invoice": item.pk, "number": item.invoice_number}
        else:
            about = {"document": item.pk, "filename": item.filename}
        activity_record(
            administration=item.administration,
            actor=user,
            action=INVOICE_ASSIGNED if kind == INVOICE else DOCUMENT_ASSIGNED,
            data=about | {"assignee": assignee.pk if assignee else None, "assignee_name": names[1] or ""},
            changes={"assignee": names},
        )
        if assignee is not None:
            notify(
                recipients=[assignee],
                administration=item.administration,
                kind=Notification.Kind.ASSIGNED,
                key=f"assigned:{kind}:{item.pk}:{now.timestamp()}",
                actor=user,
                data=about,
                url=_item_url(kind, item),
            )
    return _done(kind, item)


# Checking the status now


def _dispatch_poll(submission_id: int) -> None:
    """The existing status check task, once the transaction commits."""
    poll_submission.delay_on_commit(submission_id)


def _moment(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def items_poll(*, user, keys) -> list[RowResult]:
    """Asks Clearvo now for the status of each invoice whose submission it follows."""

    def refusal(kind, administration):
        return _("Your role on %(administration)s does not let you check the status of its invoices.") % {
            "administration": administration.name
        }

    return _rows(
        user=user,
        keys=keys,
        action=Action.DRAFT,
        document_action=None,
        refusal=refusal,
        act=lambda kind, invoice: _poll(invoice, user=user),
    )


def _poll(invoice: Invoice, *, user) -> RowResult:
    number = {"number": invoice.invoice_number}
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update().filter(invoice=invoice, state=State.SENT, terminal=False).first()
        )
        if submission is None:
            return _refused(INVOICE, invoice, _("It has no status to check: the authority is not deciding on it."))
        if submission.reason_code in polling.STOPPED_BY_KEY:
            reason = explanations.for_reason(
                "no-key" if submission.reason_code == polling.Reason.NOT_CONFIGURED else "key-refused"
            )
            return _refused(
                INVOICE,
                invoice,
                _("Its status checks are stopped. %(meaning)s %(next_step)s")
                % {"meaning": reason.meaning, "next_step": reason.next_step},
            )
        now = polling.now()
        # Clearvo's rate limits: never twice within the floor, never before a Retry-After it gave.
        last = submission.exchanges.filter(method="GET").aggregate(last=Max("started_at"))["last"]
        if last is not None and now < last + polling.POLL_FLOOR:
            return _refused(INVOICE, invoice, _("It was checked a moment ago."))
        limited = (
            submission.reason_code == polling.Reason.CHECK_FAILING
            and submission.reason_params.get("status_code") == 429
            and submission.next_poll_at is not None
            and submission.next_poll_at > now
        )
        if limited:
            return _refused(
                INVOICE,
                invoice,
                _("Clearvo asked the portal to wait: it is checked again at %(time)s.")
                % {"time": _moment(submission.next_poll_at)},
            )
        # Due now, for the task: claimed as the poller claims (its lease), so the periodic poller does
        # not check it at the same moment; the task's answer sets the next check, and if the task is
        # lost the lease runs out and the poller checks it.
        Submission.objects.filter(pk=submission.pk).update(next_poll_at=now + polling.CLAIM_LEASE)
        activity_record(
            administration=invoice.administration,
            actor=user,
            action="invoice.status_check_requested",
            data=number | {"invoice": invoice.pk, "submission": submission.pk},
        )
        _dispatch_poll(submission.pk)
    return _done(INVOICE, invoice)


# Sending again


def items_retry(*, user, keys) -> list[RowResult]:
    """Sends again what waits for a person: a held or retrying submission (its own key and body), a
    failed book filing, a failed or signed-out document."""

    def refusal(kind, administration):
        if kind == DOCUMENT:
            return _("Your role on %(administration)s does not let you upload its documents.") % {
                "administration": administration.name
            }
        return _("Your role on %(administration)s does not let you submit its invoices.") % {
            "administration": administration.name
        }

    def act(kind, item):
        return _retry_invoice(item, user=user) if kind == INVOICE else _retry_document(item, user=user)

    return _rows(user=user, keys=keys, action=Action.SUBMIT, document_action=Action.UPLOAD, refusal=refusal, act=act)


def _retry_invoice(invoice: Invoice, *, user) -> RowResult:
    number = {"number": invoice.invoice_number}
    waiting = invoice.submissions.filter(state__in=[State.HELD, State.RETRYING]).order_by("-pk").first()
    if waiting is not None:
        try:
            submission_retry(submission=waiting, user=user)
        except SubmitRefused as refused:
            return _refused(INVOICE, invoice, refused.message)
        return _done(INVOICE, invoice)
    filing = BookFiling.objects.select_related("document").filter(invoice=invoice).first()
    if filing is not None and filing.state == BookFiling.State.FAILED and filing.document_id is None:
        with transaction.atomic():
            restarted = books.book_filings_request([invoice.pk], requested_by=user)
            if restarted:
                activity_record(
                    administration=invoice.administration,
                    actor=user,
                    action="invoice.book_filing_retried",
                    data=number | {"invoice": invoice.pk, "filing": filing.pk},
                    changes={"state": [BookFiling.State.FAILED, BookFiling.State.PENDING]},
                )
        if restarted:
            return _done(INVOICE, invoice)
        return _refused(
            INVOICE,
            invoice,
            _(
                "It cannot be filed in the books now: it must be accepted, and its administration must file "
                "accepted invoices in its books (its invoicing settings)."
            ),
        )
    if filing is not None and filing.document is not None:
        return _retry_document(filing.document, user=user, subject_of=invoice)
    return _refused(INVOICE, invoice, _("Nothing of it waits to be sent again."))


def _retry_document(document: Document, *, user, subject_of=None) -> RowResult:
    kind, item = (INVOICE, subject_of) if subject_of is not None else (DOCUMENT, document)
    names = {"filename": document.filename}
    if documents.document_retry(document=document, actor=user):  # failed or waiting for a sign-in only
        return _done(kind, item)
    if document.status in Document.SENDABLE_ANYWAY:
        return _refused(
            kind,
            item,
            _(
                "%(filename)s is held: Clearfacts may already have this file. Open the document to send it anyway "
                "or cancel it."
            )
            % names,
        )
    return _refused(kind, item, _("%(filename)s is not waiting to be sent again.") % names)


# Holding


def submission_hold(*, submission: Submission, user) -> Submission:
    """Stops an unconfirmed send that is queued or retrying: HELD, so that nothing is sent (the task
    and the sweeper send only queued and retrying ones) until a person sends it again with the same
    key (`submission_retry`) or releases it (`submission_release`).

    Refused (SubmitRefused) for a send in flight (SENDING: its answer decides) and any other state.
    """
    with transaction.atomic():
        locked = Submission.objects.select_for_update().select_related("invoice__administration").get(pk=submission.pk)
        number = {"number": locked.invoice.invoice_number}
        if locked.state == State.SENDING:
            raise SubmitRefused(
                _("Invoice %(number)s is being sent to Clearvo at this moment: wait for its answer.") % number
            )
        if locked.state not in CLAIMABLE:
            raise SubmitRefused(_("The submission of invoice %(number)s is not waiting to be sent.") % number)
        before = locked.state
        Submission.objects.filter(pk=locked.pk).update(
            state=State.HELD,
            sending_until=None,
            next_attempt_at=None,
            reason_code=HELD_BY_PERSON,
            reason_params={"user": person_name(user)},
            updated_at=timezone.now(),
        )
        activity_record(
            administration=locked.invoice.administration,
            actor=user,
            action="invoice.submission_held_by_person",
            data=number | {"invoice": locked.invoice_id, "submission": locked.pk},
            changes={"state": [before, State.HELD]},
        )
    locked.refresh_from_db()
    return locked


def items_hold(*, user, keys) -> list[RowResult]:
    """Holds the unconfirmed send (queued or retrying) of each invoice."""

    def refusal(kind, administration):
        return _("Your role on %(administration)s does not let you submit its invoices.") % {
            "administration": administration.name
        }

    def act(kind, invoice):
        unconfirmed = (
            invoice.submissions.filter(state__in=[*CLAIMABLE, State.SENDING, State.HELD]).order_by("-pk").first()
        )
        if unconfirmed is None:
            return _refused(
                INVOICE,
                invoice,
                _("It has no send waiting for Clearvo: there is nothing to hold."),
            )
        if unconfirmed.state == State.HELD:
            return _refused(INVOICE, invoice, _("It is held already: it waits for a person to decide."))
        try:
            submission_hold(submission=unconfirmed, user=user)
        except SubmitRefused as refused:
            return _refused(INVOICE, invoice, refused.message)
        return _done(INVOICE, invoice)

    return _rows(user=user, keys=keys, action=Action.SUBMIT, document_action=None, refusal=refusal, act=act)
