from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.fields.json import KeyTransform
from django.utils.translation import gettext_lazy as _

from accounts.models import Office
from clearfacts_app.filetypes import FileKind, name_for_kind
from clearfacts_app.roles import Role
from portal.choices import choice_label
from portal.companies import format_company_number, validate_company_number
from portal.tenancy import TenantQuerySet


class AdministrationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Administrations Clearfacts granted to `user`, within the user's own office."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(accesses__user=user, office__memberships__user=user)


class Administration(models.Model):
    """A company whose books an office keeps in Clearfacts; mirrored from `administrations`."""

    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, related_name="administrations", verbose_name=_("office")
    )
    company_number = models.CharField(_("company number"), max_length=10, validators=[validate_company_number])
    name = models.CharField(_("name"), max_length=200)
    account_manager = models.CharField(_("account manager"), max_length=254, blank=True)
    street_address = models.CharField(_("street address"), max_length=300, blank=True)
    country_iso2 = models.CharField(_("country code"), max_length=2, blank=True)
    country_name = models.CharField(_("country"), max_length=100, blank=True)
    emails = models.JSONField(_("e-mail addresses"), default=list, blank=True)
    synced_at = models.DateTimeField(_("last synchronised"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Kept by clearfacts_app.documents.document_create, which adds each document under this row's
    # lock: the list of administrations shows and sorts by it without counting every document on
    # each request.
    document_count = models.PositiveIntegerField(_("documents"), default=0, editable=False)

    objects = AdministrationQuerySet.as_manager()

    class Meta:
        verbose_name = _("administration")
        verbose_name_plural = _("administrations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["office", "company_number"], name="unique_administration_per_office"),
        ]

    def __str__(self):
        return f"{self.name} ({self.formatted_company_number})"

    @property
    def formatted_company_number(self) -> str:
        return format_company_number(self.company_number)

    @property
    def purchase_emails(self) -> list[str]:
        return [e["emailAddress"] for e in self.emails if e.get("type") == "purchase" and e.get("emailAddress")]


class AdministrationAccess(models.Model):
    """Clearfacts lets `user` see `administration` (synced at sign-in and on refresh); `role` is
    what the portal lets them do there (clearfacts_app.roles), set by the office's administrators
    or the company's owner. A grant Clearfacts withdraws takes its role with it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="administration_accesses",
        verbose_name=_("user"),
    )
    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="accesses", verbose_name=_("administration")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.APPROVER)
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("administration access")
        verbose_name_plural = _("administration accesses")
        constraints = [
            models.UniqueConstraint(fields=["user", "administration"], name="unique_administration_access"),
        ]

    def __str__(self):
        return f"{self.user} → {self.administration}"


class Document(models.Model):
    """A file a user uploaded for an administration, on its way to (or in) Clearfacts.

    The row is written before anything is sent (the intent); a Celery task sends it and records
    the outcome. `sending_until` is the lease of the task that is sending it, renewed while the
    file goes out: a lost task's document is picked up again by the sweeper once the lease has run
    out, and held for the user instead if the whole file had gone out (`handed_over_at`).
    """

    class Destination(models.TextChoices):
        INBOX = "inbox", _("Inbox")
        ARCHIVE = "archive", _("Archive")

    class InvoiceType(models.TextChoices):
        PURCHASE = "PURCHASE", _("Purchase")
        SALE = "SALE", _("Sale")

    class ArchiveType(models.TextChoices):
        VARIOUS = "VARIOUS", _("Various")
        PERMANENT = "PERMANENT", _("Permanent")

    class PaymentState(models.TextChoices):
        """Clearfacts' payment states of an invoice (its PaymentState enumeration)."""

        UNPAID = "UNPAID", _("Unpaid")
        PARTIALLY_PAID = "PARTIALLY_PAID", _("Partially paid")
        PAID = "PAID", _("Paid")

    class Status(models.TextChoices):
        HELD = "held", _("Held: confirm")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        NEEDS_SIGN_IN = "needs-sign-in", _("Needs sign-in")
        CANCELLED = "cancelled", _("Cancelled")

    FINAL = {Status.SENT, Status.FAILED, Status.NEEDS_SIGN_IN, Status.CANCELLED, Status.HELD}
    # Which actions each status allows: the services and the templates both ask these.
    RETRYABLE = {Status.FAILED, Status.NEEDS_SIGN_IN}
    SENDABLE_ANYWAY = {Status.HELD}
    CANCELLABLE = RETRYABLE | SENDABLE_ANYWAY
    NEEDS_USER = CANCELLABLE

    class Reason(models.TextChoices):
        """Why a document is held, failed or waiting; stored as a code, translated when shown."""

        DUPLICATE = "duplicate", _("This exact file was already uploaded to this administration.")
        OUTCOME_UNKNOWN = (
            "outcome-unknown",
            _(
                "Clearfacts may have received this file but did not confirm it. Check the administration in "
                "Clearfacts: send it again only if it is not there."
            ),
        )
        FILE_MISSING = "file-missing", _("The stored copy of this file is missing; upload it again.")
        SIGN_IN_REFUSED = "sign-in-refused", _("Clearfacts no longer accepts the sign-in of %(user)s.")
        UNREACHABLE = "unreachable", _("Clearfacts could not be reached; the portal tries again by itself.")
        GAVE_UP = "unreachable-gave-up", _("Clearfacts could not be reached after %(count)d attempts.")
        TOO_SLOW = "too-slow", _("Sending took longer than %(minutes)d minutes; try again later.")
        INTERRUPTED = "interrupted", _("Sending was interrupted %(count)d times; try again later.")
        # Clearfacts' own words are its text, not ours: shown as they came.
        REFUSED = "refused", _("Clearfacts refused the file. Clearfacts said: “%(message)s”")
        NOT_ALLOWED = (
            "not-allowed",
            _("%(user)s may no longer upload to this administration: the file was not sent. Upload it again."),
        )
        LEGACY = "legacy", "%(text)s"  # a reason stored as text before reasons were codes

    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="documents", verbose_name=_("administration")
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="documents", verbose_name=_("uploaded by")
    )
    destination = models.CharField(_("destination"), max_length=10, choices=Destination.choices)
    invoice_type = models.CharField(_("invoice type"), max_length=10, choices=InvoiceType.choices, blank=True)
    archive_type = models.CharField(_("archive"), max_length=10, choices=ArchiveType.choices, blank=True)
    archive_category_id = models.CharField(_("archive category id"), max_length=64, blank=True)
    archive_category_name = models.CharField(_("archive category"), max_length=200, blank=True)
    filename = models.CharField(_("file name"), max_length=255)
    file = models.FileField(_("file"), upload_to="documents/%Y/%m/", max_length=300)
    content_type = models.CharField(_("type"), max_length=50)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    status = models.CharField(_("status"), max_length=15, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    reason_code = models.CharField(_("reason"), max_length=30, blank=True)
    reason_params = models.JSONField(_("reason details"), default=dict, blank=True)
    clearfacts_uuid = models.CharField(_("Clearfacts id"), max_length=64, blank=True)
    amount_of_pages = models.PositiveIntegerField(_("pages"), null=True, blank=True)
    sending_until = models.DateTimeField(_("being sent until"), null=True, blank=True)
    handed_over_at = models.DateTimeField(
        _("whole file sent"), null=True, blank=True, help_text=_("The last send got the whole file out (at this time).")
    )
    crashes = models.PositiveSmallIntegerField(
        _("interrupted sends"), default=0, help_text=_("Sends interrupted mid-file and started again by the sweeper.")
    )
    sending_started_at = models.DateTimeField(_("last send started"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    file_removed_at = models.DateTimeField(
        _("local copy removed"),
        null=True,
        blank=True,
        help_text=_("The portal's copy of the file was deleted (DOCUMENT_RETENTION_DAYS after it was sent)."),
    )
    # Who takes care of the document's problem in the office's clearance queue (invoicing.cockpit).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["administration", "sha256"])]

    def __str__(self):
        return self.filename

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def is_sent(self) -> bool:
        return self.status == self.Status.SENT

    @property
    def needs_sign_in(self) -> bool:
        return self.status == self.Status.NEEDS_SIGN_IN

    @property
    def can_retry(self) -> bool:
        return self.status in self.RETRYABLE

    @property
    def can_send_anyway(self) -> bool:
        """Held for the user: sending it could make a second copy in Clearfacts."""
        return self.status in self.SENDABLE_ANYWAY

    @property
    def can_cancel(self) -> bool:
        return self.status in self.CANCELLABLE

    @property
    def clearfacts_filename(self) -> str:
        """The name the file goes to Clearfacts under: the user's, with the extension of what it is."""
        return name_for_kind(self.filename, FileKind(self.content_type))

    @property
    def reason_text(self) -> str:
        """Why the document is held, failed or waiting, in the active language ("" when nothing to say)."""
        if not self.reason_code:
            return ""
        try:
            template = self.Reason(self.reason_code).label
        except ValueError:
            return self.reason_params.get("text", "")
        try:
            return str(template) % self.reason_params
        except (KeyError, TypeError, ValueError):
            return str(template)

    @property
    def destination_label(self) -> str:
        if self.destination == self.Destination.INBOX:
            destination = choice_label(self.Destination, self.destination)
            return f"{destination} · {choice_label(self.InvoiceType, self.invoice_type)}"
        return f"{choice_label(self.ArchiveType, self.archive_type)} · {self.archive_category_name}"

    @property
    def status_label(self) -> str:
        """get_status_display(), without building every label on each row of a list (portal.choices)."""
        return choice_label(self.Status, self.status)


class AuditLogIsAppendOnly(Exception):
    """Something tried to change or delete an activity row: the audit log only grows."""


class ActivityQuerySet(TenantQuerySet):
    """Activity rows are written once and never edited: no UPDATE and no DELETE through the ORM,
    and a bulk insert never overwrites a row on conflict. (An office or administration that is
    deleted takes its rows along: the cascade does not go through this queryset.)"""

    def bulk_create(self, objs, *args, **kwargs):
        # update_conflicts would turn the INSERT into an UPDATE of existing rows; ignore_conflicts
        # would silently drop a row the caller believes written. Neither is needed: refuse both.
        if kwargs.get("update_conflicts") or kwargs.get("ignore_conflicts"):
            raise AuditLogIsAppendOnly("activity rows are only inserted, never merged into existing ones")
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditLogIsAppendOnly("activity rows cannot be changed")

    def update(self, **kwargs):
        raise AuditLogIsAppendOnly("activity rows cannot be changed")

    def delete(self):
        raise AuditLogIsAppendOnly("activity rows cannot be deleted")


class Activity(models.Model):
    """Something a person (or the portal) did to an administration or its office; append-only.

    It is both the activity feed and the audit log: `action` is a code such as
    "document.sent_anyway" and `data` its parameters (ids, names), so that the row is shown in the
    reader's language, not the actor's; `changes` holds what changed ({field: [before, after]}).
    Written by `clearfacts_app.activity.activity_record` in the transaction of the change it
    records. Rows about the office itself (its Clearvo account, a person's office role) have no
    administration. Nobody edits or deletes a row: the admin shows them read-only.
    """

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="activities", verbose_name=_("office"))
    administration = models.ForeignKey(
        Administration,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("administration"),
    )
    # PROTECT: the audit log keeps who acted, so a person who did something cannot be deleted
    # (deactivate them instead); SET_NULL would rewrite their rows to "the portal did".
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("actor"),
        help_text=_("Empty when the portal acted by itself."),
    )
    action = models.CharField(_("action"), max_length=64)
    data = models.JSONField(_("data"), default=dict, blank=True)
    changes = models.JSONField(_("what changed"), default=dict, blank=True, help_text=_("{field: [before, after]}"))
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["administration", "-created_at", "-id"], name="activity_latest_idx"),
            models.Index(fields=["office", "-created_at", "-id"], name="activity_office_latest_idx"),
            # The rows about one invoice (its e-mails to the buyer, its reviews, its evidence pack):
            # found by the invoice, not by reading the company's whole history.
            models.Index(F("administration"), KeyTransform("invoice", "data"), name="activity_invoice_idx"),
        ]

    def __str__(self):
        return f"{self.action} ({self.administration_id})"

    def save(self, *args, **kwargs):
        # Only ever an INSERT: a row loaded from the table, a row built with the id of an existing
        # one (Django would UPDATE it), or a save of some fields is refused.
        if not self._state.adding or kwargs.get("update_fields") or kwargs.get("force_update"):
            raise AuditLogIsAppendOnly(f"activity {self.pk} cannot be changed")
        if self.pk is not None and type(self)._base_manager.filter(pk=self.pk).exists():
            raise AuditLogIsAppendOnly(f"activity {self.pk} exists and cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly(f"activity {self.pk} cannot be deleted")


class Comment(models.Model):
    """A remark of a person on something of an administration (a document here, an invoice in
    invoicing). `body` keeps the mentions as typed (@name); `mentioned` are the people it names
    who can see the administration. Only the author edits or deletes it; an edited comment says so,
    a deleted one leaves "deleted" in the thread."""

    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="+", verbose_name=_("administration")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    body = models.TextField(_("comment"), max_length=4000)
    mentioned = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="+", blank=True, verbose_name=_("mentioned")
    )
    created_at = models.DateTimeField(_("written"), auto_now_add=True)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.body[:60]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class DocumentComment(Comment):
    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="comments", verbose_name=_("document")
    )

    class Meta(Comment.Meta):
        verbose_name = _("document comment")
        verbose_name_plural = _("document comments")
        indexes = [models.Index(fields=["document", "created_at"], name="document_comment_idx")]


class Notification(models.Model):
    """Something a person should know, in the app (the bell) and, if they want it, by e-mail.

    `kind` is a Kind and `data` its parameters (ids, numbers, names), so it is shown in the
    reader's language; `url` is where the bell's entry leads. Each (recipient, kind, key) is
    written once (`key` names the cause, such as "invoice:12:v3" or "comment:40"), so a repeated
    task notifies nobody twice. `emailed` records the e-mail's fate.
    """

    class Kind(models.TextChoices):
        REVIEW_ASSIGNED = "review_assigned", _("Assigned to review an invoice")
        MENTIONED = "mentioned", _("Mentioned in a comment")
        INVOICE_ACCEPTED = "invoice_accepted", _("An invoice of mine accepted")
        INVOICE_REJECTED = "invoice_rejected", _("An invoice of mine rejected or refused")
        DOCUMENT_PROBLEM = "document_problem", _("A document of mine held or failed")
        INVOICE_APPROVED = "invoice_approved", _("An invoice of mine approved")
        ASSIGNED = "assigned", _("A problem of the clearance queue assigned to me")
        STATUS_STALE = "status_stale", _("An invoice stuck in its status past its limit")

    class Emailed(models.TextChoices):
        NO = "no", _("Not wanted")
        WAITING = "waiting", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="+", verbose_name=_("administration")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    key = models.CharField(_("cause"), max_length=100)
    data = models.JSONField(_("data"), default=dict, blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed = models.CharField(_("e-mail"), max_length=8, choices=Emailed.choices, default=Emailed.NO)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind", "key"], name="unique_notification_per_cause"),
        ]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_latest_idx"),
        ]

    def __str__(self):
        return f"{self.kind} → {self.recipient_id}"


class NotificationPreference(models.Model):
    """Which notifications a person also wants by e-mail (they always appear in the bell); without
    a row, all of them. Outcome e-mails of submissions keep their own switches
    (invoicing.NotificationSetting), shown on the same page."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preference",
        verbose_name=_("user"),
    )
    review_assigned = models.BooleanField(  # also governs INVOICE_APPROVED (wants_email)
        _("Reviews"),
        default=True,
        help_text=_("A colleague asks you to review an invoice, or approved one of yours."),
    )
    mentioned = models.BooleanField(_("Mentioned"), default=True, help_text=_("A colleague mentions you in a comment."))
    document_problem = models.BooleanField(
        _("Documents held or failed"), default=True, help_text=_("A document you uploaded is held for you or failed.")
    )
    cockpit = models.BooleanField(  # ASSIGNED and STATUS_STALE
        _("Clearance queue"),
        default=True,
        help_text=_("A problem is assigned to you, or an invoice you wrote, approved or were assigned is stuck."),
    )

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self):
        return str(self.user)

    def wants_email(self, kind: str) -> bool:
        field = {
            Notification.Kind.REVIEW_ASSIGNED: "review_assigned",
            Notification.Kind.MENTIONED: "mentioned",
            Notification.Kind.DOCUMENT_PROBLEM: "document_problem",
            Notification.Kind.INVOICE_APPROVED: "review_assigned",
            Notification.Kind.ASSIGNED: "cockpit",
            Notification.Kind.STATUS_STALE: "cockpit",
        }.get(kind)
        return getattr(self, field) if field else True
