from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Office
from clearfacts_app.filetypes import FileKind, name_for_kind
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
    """Clearfacts lets `user` see `administration`; synced at sign-in and on refresh."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="administration_accesses",
        verbose_name=_("user"),
    )
    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="accesses", verbose_name=_("administration")
    )
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)

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
            return f"{self.get_destination_display()} · {self.get_invoice_type_display()}"
        return f"{self.get_archive_type_display()} · {self.archive_category_name}"


class Activity(models.Model):
    """Something a person (or the portal) did to an administration; append-only.

    `action` is a code such as "document.sent_anyway" and `data` its parameters (ids, names), so
    that the row is shown in the reader's language, not the actor's. Written by
    `clearfacts_app.activity.activity_record` in the transaction of the change it records.
    """

    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="activities", verbose_name=_("administration")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("actor"),
        help_text=_("Empty when the portal acted by itself."),
    )
    action = models.CharField(_("action"), max_length=64)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["administration", "-created_at", "-id"], name="activity_latest_idx"),
        ]

    def __str__(self):
        return f"{self.action} ({self.administration_id})"
