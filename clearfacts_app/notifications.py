"""Telling people what concerns them: a row in the bell for each, and an e-mail for those who want one.

Only people who can see the administration are ever notified (a mention of anyone else reaches
nobody), never the person who caused it, and each cause (`key`) once per person and kind.

What each kind expects in `data` (ids and names, shown in the reader's language when read):
- REVIEW_ASSIGNED, INVOICE_APPROVED: {"invoice": pk, "number": invoice number}
- MENTIONED: {"comment": pk, "number": invoice number} on an invoice, or {"comment": pk,
  "document": pk, "filename": ...} on a document; "excerpt" (the comment's first words) optional.
- INVOICE_ACCEPTED, INVOICE_REJECTED: {"submission": pk, "invoice": pk, "number": ..., "outcome":
  invoicing.Outcome value}. Their e-mails are NOT sent from here: invoicing/notifications.py sends
  the outcome e-mails once per person (NotificationSent) under the NotificationSetting switches.
- DOCUMENT_PROBLEM: {"document": pk, "filename": ..., "status": held/failed, "reason_code": ...,
  "reason_params": {...}}.
The sentence, subject and e-mail of every kind are made here (`describe`, `notification_message`),
the one place that turns a row into words.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.oidc import language_of
from clearfacts_app import tasks
from clearfacts_app.models import AdministrationAccess, Document, Notification, NotificationPreference
from clearfacts_app.roles import Action, Role, can, role_allows

logger = logging.getLogger(__name__)

Kind = Notification.Kind
Emailed = Notification.Emailed
# Kinds whose e-mail another pipeline sends exactly once per person (invoicing's outcome e-mails,
# governed by invoicing.NotificationSetting): notify writes only their bell rows.
EMAILED_ELSEWHERE = {Kind.INVOICE_ACCEPTED, Kind.INVOICE_REJECTED}
BODY_TEMPLATE = "clearfacts_app/email/notification.txt"
PAGE_SIZE = 30
BELL_LIMIT = 99  # the bell says "99+" beyond; counting stops there


def notify(
    *,
    recipients,
    administration,
    kind: str,
    key: str,
    actor=None,
    data: dict | None = None,
    url: str = "",
) -> list[Notification]:
    """Writes the notifications of one cause; call it inside the transaction of the change.

    Returns the rows written now (a recipient already told of `key` gets nothing new). Once the
    transaction commits, a task e-mails those rows whose recipient wants that kind by e-mail.
    Costs a fixed number of queries whatever the number of recipients.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notify must run inside the transaction of the change it tells about")
    people = {person.pk: person for person in recipients if person is not None}
    if actor is not None:
        people.pop(actor.pk, None)
    if not people:
        return []
    allowed = _readers_not_told(people, administration, kind=kind, key=key)
    if not allowed:
        return []
    wants_email = _wanting_email(allowed, kind)
    rows = [
        Notification(
            recipient=people[pk],
            administration=administration,
            actor=actor,
            kind=kind,
            key=key,
            data=data or {},
            url=url,
            emailed=Emailed.WAITING if pk in wants_email else Emailed.NO,
        )
        for pk in allowed
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    # ignore_conflicts gives the rows no primary key: read them back (one query) for the task.
    written = list(Notification.objects.filter(recipient_id__in=allowed, kind=kind, key=key).order_by("pk"))
    waiting = [row.pk for row in written if row.emailed == Emailed.WAITING]
    if waiting:
        tasks.send_notification_emails.delay_on_commit(waiting)
    return written


def _readers_not_told(people: dict, administration, *, kind: str, key: str) -> list[int]:
    """Of `people`, those who can READ `administration` (as clearfacts_app.roles.can decides) and
    were not told of (kind, key) yet: one query for all of them."""
    told = Notification.objects.filter(recipient_id=OuterRef("user_id"), kind=kind, key=key)
    grants = AdministrationAccess.objects.filter(
        administration=administration,
        user_id__in=list(people),
        user__is_active=True,
        user__membership__office_id=administration.office_id,
    ).values_list("user_id", "role", "user__membership__role", Exists(told))
    return sorted(
        user_id
        for user_id, role, office_role, already in grants
        if not already and role_allows(Role.MANAGER if office_role == Membership.Role.ADMIN else role, Action.READ)
    )


def _wanting_email(user_ids: list[int], kind: str) -> set[int]:
    """Those of `user_ids` who want `kind` by e-mail (no preference row: everything)."""
    if kind in EMAILED_ELSEWHERE:
        return set()
    preferences = {
        preference.user_id: preference for preference in NotificationPreference.objects.filter(user_id__in=user_ids)
    }
    return {pk for pk in user_ids if pk not in preferences or preferences[pk].wants_email(kind)}


# --- e-mail (run by clearfacts_app.tasks.send_notification_emails) ---


def notification_emails_send(*, notification_ids: list[int], last_attempt: bool) -> int:
    """E-mails each WAITING notification of `notification_ids` once; returns how many went out.

    Each row is claimed WAITING → SENT before its e-mail leaves, so a task delivered twice sends
    nothing twice (a worker that dies between the claim and SMTP loses that e-mail: at most once).
    A failed send puts the row back to WAITING and the first error is raised after the others
    went out, so that the task retries; on the last attempt the row becomes FAILED instead.
    """
    rows = Notification.objects.filter(pk__in=notification_ids, emailed=Emailed.WAITING).select_related(
        "recipient__membership", "actor", "administration"
    )
    sent, failure = 0, None
    for notification in rows:
        if not Notification.objects.filter(pk=notification.pk, emailed=Emailed.WAITING).update(emailed=Emailed.SENT):
            continue  # another delivery of the task took it
        recipient = notification.recipient
        # Access may have been withdrawn since the row was written: then nothing of it goes out.
        still_reads = can(recipient, Action.READ, notification.administration)
        if not recipient.is_active or not recipient.email or not still_reads:
            Notification.objects.filter(pk=notification.pk).update(emailed=Emailed.NO)
            continue
        try:
            notification_message(notification).send()
        except Exception as error:
            logger.warning("notification %s: e-mail not sent (%r)", notification.pk, error)
            status = Emailed.FAILED if last_attempt else Emailed.WAITING
            Notification.objects.filter(pk=notification.pk).update(emailed=status)
            failure = failure or error
            continue
        sent += 1
    if failure is not None and not last_attempt:
        raise failure
    return sent


def language_for(person) -> str:
    """The person's language from their Clearfacts locale; the site's when the portal does not speak it."""
    return language_of(person.locale) or settings.LANGUAGE_CODE


def notification_message(notification: Notification) -> EmailMessage:
    """The plain-text e-mail of `notification`, in its recipient's language."""
    person = notification.recipient
    language = language_for(person)
    with translation.override(language):
        context = {
            "name": person.get_full_name() or person.email,
            "sentence": describe(notification),
            "excerpt": notification.data.get("excerpt", ""),
            "link": settings.SITE_URL + safe_url(notification.url),
            "settings_link": settings.SITE_URL + reverse("invoicing:notification-settings"),
        }
        subject = " ".join(headline(notification).split())[:200]  # one line, whatever a name holds
        body = render_to_string(BODY_TEMPLATE, context).strip() + "\n"
    return automatic_email(person=person, subject=subject, body=body, language=language)


def automatic_email(*, person, subject: str, body: str, language: str) -> EmailMessage:
    """An e-mail the portal sends a person by itself (marked so, RFC 3834, in their language)."""
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[person.email],
        headers={"Auto-Submitted": "auto-generated", "Content-Language": language},
    )


# --- reading ---


def describe(notification: Notification) -> str:
    """The notification in the active language (the page and the e-mail): its headline and, for a
    document, why it is held or failed."""
    data = notification.data or {}
    if notification.kind == Kind.DOCUMENT_PROBLEM and data.get("reason_code"):
        reason = Document(reason_code=data["reason_code"], reason_params=data.get("reason_params") or {})
        return f"{headline(notification)} {reason.reason_text}".strip()
    return headline(notification)


def headline(notification: Notification) -> str:
    """The one sentence that says what happened (the e-mail's subject), in the active language."""
    data = notification.data or {}
    names = {
        "actor": _actor_name(notification.actor),
        "administration": notification.administration.name,
        "number": data.get("number") or "",
        "filename": data.get("filename") or "",
    }
    kind = notification.kind
    if kind == Kind.REVIEW_ASSIGNED:
        return _("%(actor)s asked you to review invoice %(number)s of %(administration)s.") % names
    if kind == Kind.INVOICE_APPROVED:
        if data.get("version"):
            return _("%(actor)s approved version %(version)s of invoice %(number)s of %(administration)s.") % (
                names | {"version": data["version"]}
            )
        return _("%(actor)s approved invoice %(number)s of %(administration)s.") % names
    if kind == Kind.MENTIONED:
        if names["filename"]:
            return _("%(actor)s mentioned you in a comment on document %(filename)s of %(administration)s.") % names
        if names["number"]:
            return _("%(actor)s mentioned you in a comment on invoice %(number)s of %(administration)s.") % names
        return _("%(actor)s mentioned you in a comment in %(administration)s.") % names
    if kind == Kind.INVOICE_ACCEPTED:
        return _("The tax authority accepted invoice %(number)s of %(administration)s.") % names
    if kind == Kind.INVOICE_REJECTED:
        sentences = {
            "refused": _("Clearvo refused invoice %(number)s of %(administration)s: it is a draft again."),
            "duplicate": _("The tax authority already has the number of invoice %(number)s of %(administration)s."),
        }
        default = _("The tax authority rejected invoice %(number)s of %(administration)s.")
        return sentences.get(data.get("outcome"), default) % names
    if kind == Kind.DOCUMENT_PROBLEM:
        if data.get("status") == Document.Status.HELD:
            return _("Document %(filename)s of %(administration)s is held: check it before it is sent again.") % names
        return _("Document %(filename)s of %(administration)s could not be sent to Clearfacts.") % names
    if kind == Kind.ASSIGNED:
        if names["filename"]:
            return _("%(actor)s asked you to take care of document %(filename)s of %(administration)s.") % names
        return _("%(actor)s asked you to take care of invoice %(number)s of %(administration)s.") % names
    if kind == Kind.STATUS_STALE:
        return _stale_headline(data, names)
    return str(Kind(kind).label) if kind in Kind.values else kind


def _moment(value: str) -> str:
    """An ISO time from a notification's data, in the reader's time zone and language."""
    moment = parse_datetime(value or "")
    if moment is None:
        return ""
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _stale_headline(data: dict, names: dict) -> str:
    """STATUS_STALE: {"status": SUBMITTING/PENDING/UNDELIVERED, "since": iso, "mc_deadline": iso, "level": 1|2}."""
    names = names | {"since": _moment(data.get("since")), "deadline": _moment(data.get("mc_deadline"))}
    status = data.get("status")
    if status == "UNDELIVERED":
        return (
            _(
                "Invoice %(number)s of %(administration)s still has not reached the buyer; the authority stops trying "
                "at %(deadline)s."
            )
            % names
        )
    if status == "SUBMITTING":
        return _("Clearvo has not confirmed invoice %(number)s of %(administration)s, sent at %(since)s.") % names
    return _("The tax authority has not decided on invoice %(number)s of %(administration)s since %(since)s.") % names


def _actor_name(actor) -> str:
    if actor is None:
        return _("The portal")
    return actor.get_full_name() or actor.email or str(actor)


def safe_url(url: str) -> str:
    """The notification's link if it is a path of this site; the notifications page otherwise."""
    if url and url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return url
    return reverse("clearfacts_app:notification-list")


def _still_visible(user) -> Exists:
    """The notification's administration is one `user` can still see (Administration.visible_to:
    a grant within their own office). A correlated subquery on the grants' unique (user,
    administration) index, so the bell stays one query: a notification outlives no withdrawn access.
    The office comes with the signed-in user (accounts.oidc.ClearfactsOIDCBackend.get_user), which
    spares the database joining the user and their membership on every page."""
    membership = getattr(user, "membership", None)
    return Exists(
        AdministrationAccess.objects.filter(
            user=user,
            administration_id=OuterRef("administration_id"),
            administration__office_id=membership.office_id if membership else None,
        )
    )


def notifications_of(user):
    """`user`'s notifications of the administrations they can still see."""
    return Notification.objects.filter(_still_visible(user), recipient=user)


def unread_count(user) -> int:
    """How many unread notifications `user` has, up to BELL_LIMIT + 1 (one query, on the partial index)."""
    return notifications_of(user).filter(read_at__isnull=True)[: BELL_LIMIT + 1].count()


def notifications_page(*, user, before: int | None = None) -> tuple[list[Notification], int | None]:
    """A page of `user`'s notifications, newest first, after the one whose id is `before` (keyset
    pagination); and the id to ask for the next page with (None on the last page)."""
    rows = notifications_of(user).select_related("actor", "administration")
    rows = rows.order_by("-created_at", "-pk")  # notification_latest_idx
    if before is not None:
        anchor = Notification.objects.filter(recipient=user, pk=before).values_list("created_at", flat=True).first()
        if anchor is not None:
            rows = rows.filter(Q(created_at__lt=anchor) | Q(created_at=anchor, pk__lt=before))
    page = list(rows[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    return page, (page[-1].pk if more else None)


def notifications_mark_read(*, user, notification_ids=None) -> int:
    """Marks `user`'s unread notifications read (only those of `notification_ids` if given)."""
    rows = notifications_of(user).filter(read_at__isnull=True)
    if notification_ids is not None:
        rows = rows.filter(pk__in=notification_ids)
    return rows.update(read_at=timezone.now())


def notification_preference_for(user) -> NotificationPreference:
    """The person's e-mail switches; an unsaved one with every kind on while they never changed it."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)


def notification_preference_save(*, preference: NotificationPreference, user) -> NotificationPreference:
    fields = ("review_assigned", "mentioned", "document_problem", "cockpit")
    saved, _created = NotificationPreference.objects.update_or_create(
        user=user, defaults={name: getattr(preference, name) for name in fields}
    )
    return saved
