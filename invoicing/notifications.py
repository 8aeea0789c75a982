"""Telling people how their submissions ended: e-mail to the author and the submitter.

CONTRACT (filled in by the notifications work; the outbox and the poller call it):
- `submission_outcome_notify(submission_id: int) -> None` (and `submissions_outcome_notify(ids)`
  for many at once, with one query and one task): call it with
  `transaction.on_commit(lambda: ...)` when a submission is refused at submission (400/422), held
  for a person, or reaches a terminal clearance status (ACCEPTED, REJECTED, DUPLICATE) or
  UNDELIVERED. It sends (through a Celery task) one e-mail per person who wants it, in their
  language, at most once per submission and outcome.

How: the outcome is read when it is called (so an UNDELIVERED that turns ACCEPTED before the task
runs still tells both) and handed to `invoicing.notification_tasks.submission_outcome_send`, which
calls `submission_outcome_send` below. Each (submission, outcome, person) is a NotificationSent row
claimed before the e-mail leaves: a second call, a repeated poll or a retried task finds the row
and sends nothing. A send that fails releases its claim and the task retries; a worker that dies
mid-send leaves a claim whose lease runs out, so a redelivered task takes it over (the one case in
which a person may get the same e-mail twice: SMTP took it, the row was not yet marked).

The same task also puts an accepted, rejected, refused or duplicate outcome in the bell of the
same people (`_bell`, through clearfacts_app.notifications.notify, once per outcome); the e-mail
stays this module's alone.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.oidc import language_of
from clearfacts_app.models import Administration, Notification
from clearfacts_app.notifications import automatic_email, notify
from invoicing import duplicates, notification_tasks
from invoicing.models import Invoice, InvoiceLine, NotificationSent, NotificationSetting, Outcome, Submission
from invoicing.payload import field_for_path

logger = logging.getLogger(__name__)

SEND_LEASE = timedelta(minutes=10)  # longer than a task may run (CELERY_TASK_TIME_LIMIT)
BODY_TEMPLATE = "invoicing/email/submission_outcome.txt"
CLEARANCE_OUTCOMES = {
    Submission.ClearanceStatus.ACCEPTED: Outcome.ACCEPTED,
    Submission.ClearanceStatus.REJECTED: Outcome.REJECTED,
    Submission.ClearanceStatus.DUPLICATE: Outcome.DUPLICATE,
    Submission.ClearanceStatus.UNDELIVERED: Outcome.UNDELIVERED,
}


def submission_outcome_notify(submission_id: int) -> None:
    submission = Submission.objects.filter(pk=submission_id).only("state", "clearance_status").first()
    outcome = outcome_of(submission) if submission else None
    if outcome is None:
        return
    notification_tasks.submission_outcome_send.delay_on_commit(submission_id, outcome)


def submissions_outcome_notify(submission_ids: list[int]) -> None:
    """`submission_outcome_notify` for the submissions of one poller write: one query, one task."""
    submissions = Submission.objects.filter(pk__in=submission_ids).only("state", "clearance_status").order_by("pk")
    outcomes = [(submission.pk, outcome) for submission in submissions if (outcome := outcome_of(submission))]
    if outcomes:
        notification_tasks.submission_outcomes_send.delay_on_commit(outcomes)


def outcome_of(submission: Submission) -> str | None:
    """The outcome people are told of where the submission stands now; None while there is none."""
    if submission.state == Submission.State.REFUSED:
        return Outcome.REFUSED
    if submission.state == Submission.State.HELD:
        return Outcome.HELD
    if submission.state == Submission.State.SENT:
        return CLEARANCE_OUTCOMES.get(submission.clearance_status)
    return None


def _reached(submission: Submission, outcome: str) -> bool:
    """Whether the submission did come to `outcome` (a clearance status it has passed counts)."""
    if outcome in (Outcome.REFUSED, Outcome.HELD):
        return outcome_of(submission) == outcome  # a HELD one a person already sent again needs no e-mail
    status = outcome.upper()
    return submission.clearance_status == status or submission.events.filter(status=status).exists()


def recipients(submission: Submission) -> list[User]:
    """The invoice's author and the submitter (once if the same person) who still see its administration."""
    people = {submission.invoice.author_id: submission.invoice.author}
    people.setdefault(submission.submitted_by_id, submission.submitted_by)
    administration = submission.invoice.administration_id
    return [
        person
        for person in people.values()
        if person.is_active
        and person.email
        and Administration.objects.visible_to(person).filter(pk=administration).exists()
    ]


def language_for(person: User) -> str:
    """nl for a person whose Clearfacts locale is nl-BE; the site's language when theirs is not spoken."""
    return language_of(person.locale) or settings.LANGUAGE_CODE


def notification_setting_for(user: User) -> NotificationSetting:
    """The person's setting; an unsaved one with every kind on while they never changed it."""
    return NotificationSetting.objects.filter(user=user).first() or NotificationSetting(user=user)


def notification_setting_save(*, setting: NotificationSetting, user: User) -> NotificationSetting:
    """Stores `user`'s choices (a second tab saving at the same time updates the same row)."""
    saved, _created = NotificationSetting.objects.update_or_create(
        user=user, defaults={kind: getattr(setting, kind) for kind in NotificationSetting.KINDS}
    )
    return saved


def submission_outcome_send(*, submission_id: int, outcome: str) -> int:
    """E-mails `outcome` to each recipient who wants it and was not told yet; returns how many went out.

    Raises what the mail backend raises (after releasing that person's claim), so the task retries.
    """
    submission = (
        Submission.objects.select_related("invoice__administration", "invoice__author", "submitted_by")
        .filter(pk=submission_id)
        .first()
    )
    if submission is None or outcome not in Outcome.values or not _reached(submission, outcome):
        logger.info("submission %s: no %s e-mail (not that outcome)", submission_id, outcome)
        return 0
    _bell(submission, outcome)
    return sum(_notify(submission, outcome, person) for person in recipients(submission))


# The outcomes that also go in the bell of the author and the submitter (held and undelivered
# ones are e-mailed only: no bell kind covers them).
BELL_KINDS = {
    Outcome.ACCEPTED: Notification.Kind.INVOICE_ACCEPTED,
    Outcome.REJECTED: Notification.Kind.INVOICE_REJECTED,
    Outcome.REFUSED: Notification.Kind.INVOICE_REJECTED,
    Outcome.DUPLICATE: Notification.Kind.INVOICE_REJECTED,
}


def _bell(submission: Submission, outcome: str) -> None:
    """The bell's rows of the outcome, once per person (the key names the submission and outcome,
    so a repeated task writes nothing). `notify` sends no e-mail for these kinds: the e-mail is
    this module's, once per person through NotificationSent, under the NotificationSetting switches."""
    kind = BELL_KINDS.get(outcome)
    if kind is None:
        return
    invoice = submission.invoice
    administration = invoice.administration
    url = reverse(
        "invoicing:invoice-detail", kwargs={"company_number": administration.company_number, "invoice_pk": invoice.pk}
    )
    with transaction.atomic():
        notify(
            recipients=[invoice.author, submission.submitted_by],
            administration=administration,
            kind=kind,
            key=f"submission:{submission.pk}:{outcome}",
            data={
                "submission": submission.pk,
                "invoice": invoice.pk,
                "number": invoice.invoice_number,
                "outcome": outcome,
            },
            url=url,
        )


def _notify(submission: Submission, outcome: str, person: User) -> bool:
    language = language_for(person)
    claim = _claim(submission, outcome, person, language)
    if claim is None:
        return False
    if not notification_setting_for(person).wants(outcome):
        NotificationSent.objects.filter(pk=claim.pk).update(status=NotificationSent.Status.OFF, sending_until=None)
        return False
    try:
        outcome_message(submission, outcome, person, language).send()
    except Exception:
        NotificationSent.objects.filter(pk=claim.pk, status=NotificationSent.Status.SENDING).delete()
        raise
    NotificationSent.objects.filter(pk=claim.pk).update(
        status=NotificationSent.Status.SENT, sent_at=timezone.now(), sending_until=None
    )
    return True


def _claim(submission: Submission, outcome: str, person: User, language: str) -> NotificationSent | None:
    """The row that lets this process tell `person`; None when someone did or is doing it."""
    now = timezone.now()
    with transaction.atomic():
        claim, created = NotificationSent.objects.get_or_create(
            submission=submission,
            outcome=outcome,
            recipient=person,
            defaults={"email": person.email, "language": language, "sending_until": now + SEND_LEASE},
        )
    if created:
        return claim
    lapsed = claim.status == NotificationSent.Status.SENDING and claim.sending_until and claim.sending_until < now
    taken = lapsed and NotificationSent.objects.filter(
        pk=claim.pk, status=NotificationSent.Status.SENDING, sending_until=claim.sending_until
    ).update(sending_until=now + SEND_LEASE)
    return claim if taken else None


def outcome_message(submission: Submission, outcome: str, person: User, language: str) -> EmailMessage:
    invoice = submission.invoice
    administration = invoice.administration
    with translation.override(language):
        context = {
            "name": person.get_full_name() or person.email,
            "invoice": invoice,
            "administration": administration,
            "outcome": Outcome(outcome).label,
            "link": settings.SITE_URL
            + reverse(
                "invoicing:invoice-detail",
                kwargs={"company_number": administration.company_number, "invoice_pk": invoice.pk},
            ),
            "settings_link": settings.SITE_URL + reverse("invoicing:notification-settings"),
        } | explanation(submission, outcome)
        subject = _subject(outcome, number=invoice.invoice_number, administration=administration.name)
        body = render_to_string(BODY_TEMPLATE, context).strip() + "\n"
    return automatic_email(person=person, subject=subject, body=body, language=language)


def _subject(outcome: str, **names) -> str:
    subjects = {
        Outcome.ACCEPTED: _("Invoice %(number)s of %(administration)s is accepted"),
        Outcome.REJECTED: _("Invoice %(number)s of %(administration)s is rejected"),
        Outcome.DUPLICATE: _("Invoice %(number)s of %(administration)s: the authority already has this number"),
        Outcome.REFUSED: _("Invoice %(number)s of %(administration)s is refused by Clearvo"),
        Outcome.HELD: _("Invoice %(number)s of %(administration)s is held: check with Clearvo"),
        Outcome.UNDELIVERED: _("Invoice %(number)s of %(administration)s could not be delivered to the buyer"),
    }
    return " ".join((subjects[outcome] % names).split())  # one line, whatever a name holds


def explanation(submission: Submission, outcome: str) -> dict:
    """What happened and what to do (`summary`), the authority's reason and Clearvo's violations.

    The one place to hand over to invoicing/explanations.py (every rejection code, in nl, fr, en)
    once it exists. Call it with the recipient's language active.
    """
    error = submission.error or {}
    reason = " ".join(part for part in (error.get("source"), error.get("code")) if part)
    if error.get("message"):
        reason = f"{reason}: {error['message']}" if reason else error["message"]
    summaries = {
        Outcome.ACCEPTED: _("The tax authority accepted the invoice: it is legally valid."),
        Outcome.REJECTED: _(
            "The tax authority rejected the invoice. Correct it and submit it again; this attempt stays on "
            "the invoice's timeline."
        ),
        Outcome.DUPLICATE: _(
            "The tax authority already holds an invoice with this number. The invoice's page compares it with "
            "what the portal sent before under the number and says what to do: adopt that earlier outcome if "
            "it was this same invoice, or give this one a new number."
        ),
        Outcome.REFUSED: _(
            "Clearvo refused the invoice before it reached the tax authority. It is a draft again: correct "
            "it and submit it again."
        ),
        Outcome.HELD: _(
            "The portal cannot tell whether Clearvo received the invoice, so it will not send it again by "
            "itself. Someone must check with Clearvo before it is sent again."
        ),
    }
    if outcome == Outcome.REJECTED and duplicates.is_duplicate_answer(submission.clearance_status, error):
        outcome = Outcome.DUPLICATE  # SDI 00002, KSeF DuplicateInvoice: the number, not the content
    summary = summaries.get(outcome) or _undelivered(submission.mc_deadline)
    return {
        "summary": summary,
        "reason": reason if outcome == Outcome.REJECTED else "",
        "violations": [_violation(item) for item in submission.violations] if outcome == Outcome.REFUSED else [],
    }


def _undelivered(deadline) -> str:
    if deadline is None:
        return _(
            "The authority received the invoice but could not deliver it to the buyer, and keeps trying for "
            "ten days. After that the invoice is still legally valid: tell the buyer by other means."
        )
    return _(
        "The authority received the invoice but could not deliver it to the buyer, and keeps trying until "
        "%(deadline)s. After that the invoice is still legally valid: tell the buyer by other means."
    ) % {"deadline": formats.date_format(timezone.localtime(deadline), "DATETIME_FORMAT")}


def _violation(item: dict) -> str:
    """ "Line 1, VAT category: …" for Clearvo's "lines[0].taxCode"; its own path when it names no field."""
    path, message = str(item.get("field", "")), str(item.get("message", ""))
    found = field_for_path(path)
    if found is None:
        return f"{path}: {message}" if path else message
    field, line = found
    if line is None:
        return f"{capfirst(Invoice._meta.get_field(field).verbose_name)}: {message}"
    where = _("Line %(number)s, %(label)s") % {
        "number": line + 1,
        "label": InvoiceLine._meta.get_field(field).verbose_name,
    }
    return f"{where}: {message}"
