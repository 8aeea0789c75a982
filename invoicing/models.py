"""E-invoices drafted in the portal: the supplier's profile, the buyers' address book, invoices and lines.

Field names follow Clearvo's request body (../shared/specs/clearvo-api.txt) so that one mapping,
`invoicing.payload`, turns an invoice into the JSON that is sent. Supplier and buyer are copied onto
the invoice (`supplier_*`, `buyer_*`): a later change of the profile or the address book changes no
invoice that has left draft.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Office
from clearfacts_app.models import Administration, Comment
from portal.choices import choice_label
from portal.crypto import EncryptedTextField
from portal.tenancy import TenantQuerySet

CURRENCIES = ("EUR", "PLN", "GBP", "USD")
DESTINATION_COUNTRIES = ("IT", "PL", "ES", "PT", "FR", "DE", "RO", "HU")
# Quantity and unit price leave as JSON numbers written through a float: 15 significant digits
# survive that exactly (IEEE 754 double), so no field may hold more.
QUANTITY_DIGITS, QUANTITY_DECIMALS = 15, 6
PRICE_DIGITS, PRICE_DECIMALS = 15, 6
AMOUNT_DIGITS = 15


class Currency(models.TextChoices):
    EUR = "EUR", "EUR"
    PLN = "PLN", "PLN"
    GBP = "GBP", "GBP"
    USD = "USD", "USD"


class DestinationCountry(models.TextChoices):
    IT = "IT", _("Italy")
    PL = "PL", _("Poland")
    ES = "ES", _("Spain")
    PT = "PT", _("Portugal")
    FR = "FR", _("France")
    DE = "DE", _("Germany")
    RO = "RO", _("Romania")
    HU = "HU", _("Hungary")


class TaxCode(models.TextChoices):
    """EN16931 VAT categories as Clearvo names them."""

    S = "S", _("Standard rate")
    AA = "AA", _("Reduced rate")
    AB = "AB", _("Second reduced rate")
    AC = "AC", _("Super-reduced rate")
    AE = "AE", _("Reverse charge")
    K = "K", _("Intra-EU supply (zero rate)")
    G = "G", _("Export outside the EU (zero rate)")
    E = "E", _("Exempt")
    O = "O", _("Outside the scope of VAT")  # noqa: E741 (EN16931's own code)
    Z = "Z", _("Zero rated (domestic)")


class PaymentMeans(models.TextChoices):
    CREDIT_TRANSFER = "CREDIT_TRANSFER", _("Credit transfer")
    SEPA = "SEPA", _("SEPA credit transfer")
    CASH = "CASH", _("Cash")


class InvoicingProfile(models.Model):
    """The administration as the supplier of its invoices: what Clearvo needs to know about it."""

    administration = models.OneToOneField(
        Administration, on_delete=models.CASCADE, related_name="invoicing_profile", verbose_name=_("administration")
    )
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    tax_id = models.CharField(
        _("company number (VAT)"),
        max_length=20,
        blank=True,
        help_text=_("Without the country prefix, for example 0403170701."),
    )
    tax_id_country = models.CharField(_("VAT country"), max_length=2, default="BE")
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, default="BE")
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    default_currency = models.CharField(
        _("default currency"), max_length=3, choices=Currency.choices, default=Currency.EUR
    )
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"), default=30, help_text=_("The due date is this many days after the issue date.")
    )
    number_pattern = models.CharField(
        _("invoice number pattern"),
        max_length=40,
        default="{YYYY}-{NNNN}",
        help_text=_(
            "{YYYY} is the year, {YY} its last two digits, {NNNN} the sequence number (as many digits as N's)."
        ),
    )
    file_in_books = models.BooleanField(
        _("file accepted sales invoices in the books"),
        default=True,
        help_text=_(
            "When the authority accepts an invoice, its UBL goes to this administration's Clearfacts inbox as a "
            "sales invoice."
        ),
    )
    four_eyes = models.BooleanField(
        _("four-eyes approval"),
        default=False,
        help_text=_(
            "An invoice is submitted only after a colleague who neither wrote nor changed it approved that version."
        ),
    )
    # The sequence behind number_pattern; read and advanced under a row lock (invoicing.numbers).
    next_sequence = models.PositiveIntegerField(_("next sequence number"), default=1)
    sequence_year = models.PositiveSmallIntegerField(_("year of the sequence"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoicing profile")
        verbose_name_plural = _("invoicing profiles")

    def __str__(self):
        return self.legal_name or str(self.administration)


class BuyerFields(models.Model):
    """A buyer's identity and address, as Clearvo's Party object and the country data hold them."""

    name = models.CharField(_("name"), max_length=200)
    tax_id = models.CharField(_("VAT or tax number"), max_length=30, blank=True)
    tax_id_country = models.CharField(_("tax number country"), max_length=2, blank=True)
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    codice_fiscale = models.CharField(_("codice fiscale"), max_length=16, blank=True)
    codice_destinatario = models.CharField(_("codice destinatario"), max_length=7, blank=True)
    pec_destinatario = models.EmailField(_("PEC address"), max_length=254, blank=True)
    leitweg_id = models.CharField(_("Leitweg-ID"), max_length=50, blank=True)

    class Meta:
        abstract = True


class Buyer(BuyerFields):
    """An entry of an administration's address book, filled as invoices are written."""

    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="buyers", verbose_name=_("administration")
    )
    clearfacts_customer_id = models.CharField(_("Clearfacts customer"), max_length=64, blank=True)
    email = models.EmailField(_("invoice e-mail"), blank=True, help_text=_("Where invoices are e-mailed."))
    language = models.CharField(
        _("language"), max_length=2, choices=settings.LANGUAGES, blank=True, help_text=_("Of the e-mails it gets.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("buyer")
        verbose_name_plural = _("buyers")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["administration", "name"], name="buyer_name_idx")]

    def __str__(self):
        return self.name


class Invoice(models.Model):
    """An invoice, credit note or debit note of an administration, from draft to clearance.

    `version` grows by one with every saved change: a form carries the version it was opened at,
    and a save from an older version is refused (invoicing.services.invoice_update).
    """

    class DocumentType(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")
        DEBIT_NOTE = "debit_note", _("Debit note")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTING = "submitting", _("Submitting")
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        DUPLICATE = "duplicate", _("Duplicate")
        UNDELIVERED = "undelivered", _("Undelivered")

    NOTE_TYPES = {DocumentType.CREDIT_NOTE, DocumentType.DEBIT_NOTE}
    # What a person types on a draft, in the editor's order (the form's fields; the services save these).
    EDITOR_FIELDS = [
        "document_type",
        "invoice_number",
        "issue_date",
        "tax_point_date",
        "due_date",
        "currency",
        "country",
        "original_invoice",
        "buyer",
        "buyer_name",
        "buyer_tax_id",
        "buyer_tax_id_country",
        "buyer_street",
        "buyer_city",
        "buyer_postal_code",
        "buyer_country",
        "iban",
        "bic",
        "payment_means",
        "payment_reference",
        "customer_reference",
        "language",
        "it_codice_fiscale",
        "it_codice_destinatario",
        "it_pec_destinatario",
        "de_buyer_reference",
    ]
    EDITABLE = {Status.DRAFT}

    class Review(models.TextChoices):
        """Where a draft stands in four-eyes approval (invoicing.reviews); "" when nobody was asked."""

        NONE = "", _("Not sent for review")
        IN_REVIEW = "in_review", _("In review")
        APPROVED = "approved", _("Approved")

    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="invoices", verbose_name=_("administration")
    )
    document_type = models.CharField(
        _("type"), max_length=12, choices=DocumentType.choices, default=DocumentType.INVOICE
    )
    invoice_number = models.CharField(_("invoice number"), max_length=50)
    issue_date = models.DateField(_("issue date"))
    tax_point_date = models.DateField(_("VAT point date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.EUR)
    country = models.CharField(_("destination country"), max_length=2, choices=DestinationCountry.choices)

    supplier_name = models.CharField(_("supplier name"), max_length=200, blank=True)
    supplier_tax_id = models.CharField(_("supplier VAT number"), max_length=30, blank=True)
    supplier_tax_id_country = models.CharField(_("supplier VAT country"), max_length=2, blank=True)
    supplier_street = models.CharField(_("supplier street"), max_length=200, blank=True)
    supplier_city = models.CharField(_("supplier city"), max_length=100, blank=True)
    supplier_postal_code = models.CharField(_("supplier postal code"), max_length=20, blank=True)
    supplier_country = models.CharField(_("supplier country"), max_length=2, blank=True)

    buyer = models.ForeignKey(
        Buyer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("address book entry"),
    )
    buyer_name = models.CharField(_("buyer name"), max_length=200)
    buyer_tax_id = models.CharField(_("buyer VAT or tax number"), max_length=30, blank=True)
    buyer_tax_id_country = models.CharField(_("buyer tax number country"), max_length=2, blank=True)
    buyer_street = models.CharField(_("buyer street"), max_length=200, blank=True)
    buyer_city = models.CharField(_("buyer city"), max_length=100)
    buyer_postal_code = models.CharField(_("buyer postal code"), max_length=20, blank=True)
    buyer_country = models.CharField(_("buyer country"), max_length=2)

    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    payment_means = models.CharField(
        _("payment means"), max_length=16, choices=PaymentMeans.choices, default=PaymentMeans.CREDIT_TRANSFER
    )
    payment_reference = models.CharField(_("payment reference"), max_length=35, blank=True)

    original_invoice = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notes",
        verbose_name=_("original invoice"),
        help_text=_("The invoice a credit or debit note corrects."),
    )
    customer_reference = models.CharField(
        _("your reference"), max_length=100, blank=True, help_text=_("Kept by Clearvo, not sent to the authority.")
    )

    it_codice_fiscale = models.CharField(_("codice fiscale"), max_length=16, blank=True)
    it_codice_destinatario = models.CharField(_("codice destinatario"), max_length=7, blank=True)
    it_pec_destinatario = models.EmailField(_("PEC address"), max_length=254, blank=True)
    de_buyer_reference = models.CharField(_("Leitweg-ID (buyer reference)"), max_length=50, blank=True)

    language = models.CharField(
        _("language of the invoice"),
        max_length=2,
        choices=settings.LANGUAGES,
        default="nl",
        help_text=_("The PDF is written in this language."),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("author")
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last changed by"),
        help_text=_("Who saved the current version; they cannot approve it."),
    )
    review = models.CharField(_("review"), max_length=10, choices=Review.choices, default=Review.NONE, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoices_to_review",
        verbose_name=_("reviewer"),
        help_text=_("The colleague asked to review the invoice."),
    )
    # Who takes care of the invoice's problem in the office's clearance queue (invoicing.cockpit).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["administration", "invoice_number"], name="unique_invoice_number_per_administration"
            ),
        ]
        indexes = [
            models.Index(fields=["administration", "-created_at", "-id"], name="invoice_latest_idx"),
            models.Index(fields=["administration", "status", "-created_at", "-id"], name="invoice_status_idx"),
            # The list across administrations walks this one in order instead of sorting every visible invoice.
            models.Index(fields=["-created_at", "-id"], name="invoice_created_idx"),
        ]

    def __str__(self):
        return self.invoice_number

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    @property
    def is_note(self) -> bool:
        return self.document_type in self.NOTE_TYPES

    # What get_document_type_display() and get_status_display() give (portal.choices).
    @property
    def document_type_label(self) -> str:
        return choice_label(self.DocumentType, self.document_type)

    @property
    def status_label(self) -> str:
        return choice_label(self.Status, self.status)


class Approval(models.Model):
    """A colleague approved one version of an invoice (four-eyes). A later change makes a new
    version, which this approval does not cover; the rows stay as the record of who approved what."""

    administration_path = "invoice__administration"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="approvals", verbose_name=_("invoice"))
    invoice_version = models.PositiveIntegerField(_("invoice version"))
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("approved by")
    )
    created_at = models.DateTimeField(_("approved"), auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "invoice_version"], name="one_approval_per_invoice_version"),
        ]

    def __str__(self):
        return f"{self.invoice} v{self.invoice_version}"


class InvoiceComment(Comment):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="comments", verbose_name=_("invoice"))

    class Meta(Comment.Meta):
        verbose_name = _("invoice comment")
        verbose_name_plural = _("invoice comments")
        indexes = [models.Index(fields=["invoice", "created_at"], name="invoice_comment_idx")]


class InvoiceLine(models.Model):
    administration_path = "invoice__administration"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines", verbose_name=_("invoice"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    description = models.CharField(_("description"), max_length=500)
    quantity = models.DecimalField(_("quantity"), max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_DECIMALS)
    unit = models.CharField(_("unit"), max_length=3, default="EA", help_text=_("UN/CEFACT code: EA, HUR, DAY, KGM…"))
    unit_price = models.DecimalField(_("unit price"), max_digits=PRICE_DIGITS, decimal_places=PRICE_DECIMALS)
    tax_code = models.CharField(_("VAT category"), max_length=2, choices=TaxCode.choices, default=TaxCode.S)
    exemption_reason = models.CharField(_("exemption reason"), max_length=300, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["position", "pk"]

    def __str__(self):
        return self.description


class ClearvoAccount(models.Model):
    """An office's Clearvo API key, encrypted at rest; test or live as its prefix says.

    Offices without one use the platform's default key (settings.CLEARVO_API_KEY, the sandbox's
    test key in development), when there is one.
    """

    TEST_PREFIX, LIVE_PREFIX = "ck_test_", "ck_live_"

    office = models.OneToOneField(
        Office, on_delete=models.CASCADE, related_name="clearvo_account", verbose_name=_("office")
    )
    api_key = EncryptedTextField(_("API key"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("Clearvo account")
        verbose_name_plural = _("Clearvo accounts")

    def __str__(self):
        return f"{self.office} ({self.mode})"

    @property
    def mode(self) -> str:
        return key_mode(self.api_key)


def key_mode(api_key: str) -> str:
    """ "live" or "test" from a Clearvo key's prefix ("" for a key that has neither)."""
    if api_key.startswith(ClearvoAccount.LIVE_PREFIX):
        return "live"
    if api_key.startswith(ClearvoAccount.TEST_PREFIX):
        return "test"
    return ""


class DuplicateMatch(models.TextChoices):
    """What the portal's own record says of a number the authority already has."""

    NONE = "", _("Not a duplicate")
    SAME = "same", _("The same invoice was sent before")
    DIFFERENT = "different", _("A different invoice used this number")


class Submission(models.Model):
    """One attempt to clear an invoice through Clearvo: the outbox row, written before anything is sent.

    It keeps the exact bytes it sends (`body`, never re-serialised) and the idempotency key made
    before the first attempt: every retry sends both unchanged, so Clearvo answers a retry of a
    request it already processed from its cache instead of submitting twice. `state` is the
    portal's side (is the POST done?), `clearance_status` Clearvo's (what did the authority say?).
    """

    administration_path = "invoice__administration"

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        RETRYING = "retrying", _("Retrying")
        SENT = "sent", _("Sent")  # Clearvo answered 200: reference_id is known
        REFUSED = "refused", _("Refused by Clearvo")  # 400 or 422: the invoice went back to draft
        HELD = "held", _("Held: check with Clearvo")  # the outcome is unknown: a person decides
        FAILED = "failed", _("Failed")  # 401, 409 or another answer that no retry can fix
        CANCELLED = "cancelled", _("Cancelled")

    class ClearanceStatus(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        ACCEPTED = "ACCEPTED", _("Accepted")
        REJECTED = "REJECTED", _("Rejected")
        DUPLICATE = "DUPLICATE", _("Duplicate")
        UNDELIVERED = "UNDELIVERED", _("Undelivered")

    class Reason(models.TextChoices):
        """Why a submission is retrying, held, refused or failed; stored as a code, translated when shown."""

        UNREACHABLE = (
            "unreachable",
            _("Clearvo could not be reached (attempt %(attempts)d); the portal tries again by itself."),
        )
        ANSWER_LOST = (
            "answer-lost",
            _(
                "Clearvo's answer to attempt %(attempts)d was lost; the portal sends the same request again, "
                "which Clearvo recognises, so the invoice cannot be submitted twice."
            ),
        )
        UNEXPECTED_ANSWER = (
            "unexpected-answer",
            _("Clearvo gave an unexpected answer to attempt %(attempts)d; the portal tries again by itself."),
        )
        INTERRUPTED = (
            "interrupted",
            _("Sending was interrupted (attempt %(attempts)d); the portal sends the same request again."),
        )
        OUTCOME_UNKNOWN = (
            "outcome-unknown",
            _(
                "Clearvo may have received invoice %(number)s without confirming it, and after %(hours)d hours "
                "the request can no longer be repeated safely. Check in Clearvo whether it holds the invoice; "
                "release it only if it does not."
            ),
        )
        GAVE_UP = (
            "gave-up",
            _(
                "Clearvo did not confirm invoice %(number)s after %(attempts)d attempts. Try again (the same "
                "request, so it cannot be submitted twice), or check in Clearvo whether it holds the invoice "
                "before releasing it."
            ),
        )
        KEY_CHANGED = (
            "key-changed",
            _(
                "The office's Clearvo key changed from %(was)s to %(now)s after this invoice was submitted. "
                "Try again to send it with the new key, or release it."
            ),
        )
        # Clearvo's own words are its text, not ours: shown as they came.
        REFUSED = "refused", _("Clearvo refused the invoice. Clearvo said: “%(message)s”")
        KEY_REFUSED = (
            "key-refused",
            _("Clearvo refused the office's API key: an office administrator must correct it."),
        )
        NO_KEY = "no-key", _("The office has no Clearvo API key: an office administrator must enter one.")
        CONFLICT = (
            "conflict",
            _(
                "Clearvo holds a different request under this submission's key. This is a fault of the portal and "
                "staff have been alerted: wait for them before doing anything with this invoice."
            ),
        )
        RELEASED = "released", _("Released by %(user)s: Clearvo does not have it, so the invoice went back to draft.")
        HELD_BY_PERSON = (
            "held-by-person",
            _("Held by %(user)s: nothing is sent until someone sends it again (the same request) or releases it."),
        )
        NOT_ALLOWED = (
            "not-allowed",
            _("%(user)s may no longer submit invoices of this administration: nothing was sent."),
        )

    # States whose send may still happen or has happened: at most one per invoice while it is
    # followed (a terminal answer ends that: a rejected invoice may be fixed and submitted anew).
    ACTIVE = {State.QUEUED, State.SENDING, State.RETRYING, State.SENT, State.HELD}
    ACTIVE_CONDITION = models.Q(state__in=["queued", "sending", "retrying", "held"]) | models.Q(
        state="sent", terminal=False
    )

    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="submissions", verbose_name=_("invoice")
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("submitted by")
    )
    invoice_version = models.PositiveIntegerField(_("invoice version"))
    body = models.BinaryField(_("request body"))
    body_sha256 = models.CharField(_("SHA-256 of the body"), max_length=64)
    # The number the body carries: what the authority knows the invoice by, even after the draft
    # is renumbered (invoicing.duplicates compares what was sent under a number).
    invoice_number = models.CharField(_("invoice number sent"), max_length=50, blank=True, db_index=True)
    idempotency_key = models.UUIDField(_("idempotency key"), unique=True, editable=False)
    api_mode = models.CharField(_("Clearvo mode"), max_length=4, blank=True, help_text=_("test or live"))

    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    first_attempt_at = models.DateTimeField(
        _("first attempt"), null=True, blank=True, help_text=_("The idempotency key's lifetime counts from here.")
    )
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sending_until = models.DateTimeField(_("being sent until"), null=True, blank=True)
    reason_code = models.CharField(_("reason"), max_length=40, blank=True)
    reason_params = models.JSONField(_("reason details"), default=dict, blank=True)
    violations = models.JSONField(
        _("violations"), default=list, blank=True, help_text=_("Clearvo's 400/422 violations: field and message.")
    )

    reference_id = models.CharField(_("Clearvo reference"), max_length=100, blank=True)
    clearance_status = models.CharField(
        _("clearance status"), max_length=12, choices=ClearanceStatus.choices, blank=True
    )
    terminal = models.BooleanField(_("terminal"), default=False)
    submitted_at = models.DateTimeField(_("submitted (Clearvo)"), null=True, blank=True)
    next_poll_at = models.DateTimeField(_("next status check"), null=True, blank=True)
    polls = models.PositiveIntegerField(_("status checks"), default=0)
    cleared_at = models.DateTimeField(_("cleared"), null=True, blank=True)
    rejected_at = models.DateTimeField(_("rejected"), null=True, blank=True)
    mc_deadline = models.DateTimeField(_("SDI delivery deadline"), null=True, blank=True)
    # Since when the submission is in its current clearance status (or, before Clearvo answered,
    # since it was queued): what the stale-status watchdog measures (invoicing.watchdog).
    status_since = models.DateTimeField(_("in this status since"), null=True, blank=True)
    # When the authority answered that it already has the number (DUPLICATE, SDI 00002, KSeF
    # DuplicateInvoice): what the portal's own record says of it (invoicing.duplicates).
    duplicate = models.CharField(_("duplicate number"), max_length=10, choices=DuplicateMatch.choices, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("earlier submission under the number"),
    )
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("earlier outcome adopted by"),
    )
    adopted_at = models.DateTimeField(_("earlier outcome adopted"), null=True, blank=True)
    error = models.JSONField(
        _("authority's error"), default=dict, blank=True, help_text=_("source, code, message and detail")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=models.Q(state__in=["queued", "sending", "retrying", "held"])
                | models.Q(state="sent", terminal=False),
                name="one_active_submission_per_invoice",
            ),
        ]
        indexes = [
            # The poller's question: which non-terminal, sent submissions are due?
            models.Index(
                fields=["next_poll_at"],
                condition=models.Q(terminal=False, state="sent"),
                name="submission_due_idx",
            ),
            # The sweeper's: which sends are waiting or were lost?
            models.Index(
                fields=["state", "next_attempt_at"],
                condition=models.Q(state__in=["queued", "sending", "retrying"]),
                name="submission_unsent_idx",
            ),
            # The watchdog's: which followed submissions have been in their status since when?
            models.Index(
                fields=["clearance_status", "status_since"],
                condition=models.Q(terminal=False, state="sent"),
                name="submission_stale_idx",
            ),
            # The clearance queue's: sends that Clearvo refused or that failed (few, and each one's invoice).
            models.Index(
                fields=["invoice"],
                condition=models.Q(state__in=["refused", "failed"]),
                name="submission_refused_idx",
            ),
        ]

    def __str__(self):
        return f"{self.invoice} #{self.pk}"

    @property
    def reason_text(self) -> str:
        """Why the submission is retrying, held, refused or failed, in the active language ("" when nothing to say)."""
        if not self.reason_code:
            return ""
        try:
            template = self.Reason(self.reason_code).label
        except ValueError:
            return self.reason_code
        try:
            return str(template) % self.reason_params
        except (KeyError, TypeError, ValueError):
            return str(template)


class Exchange(models.Model):
    """One HTTP exchange with Clearvo for a submission, raw: the clearance record keeps every one."""

    administration_path = "submission__invoice__administration"

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="exchanges", verbose_name=_("submission")
    )
    method = models.CharField(_("method"), max_length=6)
    path = models.CharField(_("path"), max_length=300)
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), default=0, help_text=_("0: no answer."))
    response_body = models.TextField(_("response body"), blank=True)
    transport_error = models.CharField(_("transport error"), max_length=200, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("Clearvo exchange")
        verbose_name_plural = _("Clearvo exchanges")
        ordering = ["started_at", "pk"]

    def __str__(self):
        return f"{self.method} {self.path} → {self.status_code}"


class ClearanceEvent(models.Model):
    """A status transition Clearvo reported for a submission (its `events` array), stored once."""

    administration_path = "submission__invoice__administration"

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="events", verbose_name=_("submission")
    )
    status = models.CharField(_("status"), max_length=12)
    at = models.DateTimeField(_("time"))
    message = models.TextField(_("message"), blank=True)
    extra = models.JSONField(_("details"), default=dict, blank=True, help_text=_("e.g. kSeFNumber, peppolDelivered"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("clearance event")
        verbose_name_plural = _("clearance events")
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "status", "at"], name="unique_clearance_event"),
        ]

    def __str__(self):
        return f"{self.status} at {self.at:%Y-%m-%d %H:%M}"


class Outcome(models.TextChoices):
    """How a submission ended, as far as the people who wrote and sent the invoice are told."""

    REFUSED = "refused", pgettext_lazy("submission outcome", "Refused by Clearvo")
    HELD = "held", pgettext_lazy("submission outcome", "Held: check with Clearvo")
    ACCEPTED = "accepted", pgettext_lazy("submission outcome", "Accepted by the tax authority")
    REJECTED = "rejected", pgettext_lazy("submission outcome", "Rejected by the tax authority")
    DUPLICATE = "duplicate", pgettext_lazy("submission outcome", "Duplicate: the tax authority already has the number")
    UNDELIVERED = "undelivered", pgettext_lazy("submission outcome", "Undelivered to the buyer")


class NotificationSetting(models.Model):
    """Which outcome e-mails a person wants; without a row, every kind (the default)."""

    KINDS = ("accepted", "rejected", "held")
    # Each outcome's kind: the field that turns its e-mail off.
    KIND_OF = {
        Outcome.ACCEPTED: "accepted",
        Outcome.REJECTED: "rejected",
        Outcome.REFUSED: "rejected",
        Outcome.DUPLICATE: "rejected",
        Outcome.HELD: "held",
        Outcome.UNDELIVERED: "held",
    }

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_setting",
        verbose_name=_("user"),
    )
    accepted = models.BooleanField(
        _("Accepted invoices"), default=True, help_text=_("The tax authority accepted the invoice.")
    )
    rejected = models.BooleanField(
        _("Refused, rejected and duplicate invoices"),
        default=True,
        help_text=_("Clearvo refused the invoice, the tax authority rejected it, or it already holds the number."),
    )
    held = models.BooleanField(
        _("Held and undelivered invoices"),
        default=True,
        help_text=_("Someone must check with Clearvo, or the buyer could not be reached."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification setting")
        verbose_name_plural = _("notification settings")

    def __str__(self):
        return str(self.user)

    def wants(self, outcome: str) -> bool:
        return getattr(self, self.KIND_OF[outcome])


class NotificationSent(models.Model):
    """One person told (or deliberately not told) of one outcome of a submission: at most once.

    The row is claimed (SENDING, with a lease) before the e-mail leaves and marked SENT after, so
    a repeated poll or a retried task finds it and sends nothing more; a lease that ran out (the
    worker died mid-send) may be taken over. OFF: the person had turned that kind off.
    """

    administration_path = "submission__invoice__administration"

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        OFF = "off", _("Turned off by the recipient")

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("submission")
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("recipient")
    )
    email = models.EmailField(_("e-mail"), blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.SENDING)
    sending_until = models.DateTimeField(_("being sent until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification sent")
        verbose_name_plural = _("notifications sent")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "outcome", "recipient"], name="one_notification_per_outcome_and_person"
            ),
        ]

    def __str__(self):
        return f"{self.get_outcome_display()} → {self.email or self.recipient}"


class BookFiling(models.Model):
    """An accepted sales invoice on its way into the accountant's books: the outbox row of the handover.

    Written in the transaction that records ACCEPTED (one per invoice: the unique invoice is the
    guarantee, whatever retries, restarts or repeated polls happen). A task then builds the UBL
    (the PDF inside) and hands it to the document pipeline of clearfacts_app as a SALE document
    of the inbox; `document` links the two, and from there the document's own status (queued,
    sent, held when the outcome is unknown, ...) is the filing's.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Being prepared")
        HANDED_OVER = "handed-over", _("Handed to the documents")
        FAILED = "failed", _("Could not be prepared")
        SKIPPED = "skipped", _("Not filed (turned off)")

    administration_path = "invoice__administration"

    invoice = models.OneToOneField(
        Invoice, on_delete=models.CASCADE, related_name="book_filing", verbose_name=_("invoice")
    )
    document = models.OneToOneField(
        "clearfacts_app.Document",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="book_filing",
        verbose_name=_("document"),
    )
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
        help_text=_("Empty when the acceptance itself started it."),
    )
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("filing in the books")
        verbose_name_plural = _("filings in the books")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "updated_at"], name="book_filing_state_idx")]

    def __str__(self):
        return f"{self.invoice} → {self.get_state_display()}"


class StatusLimit(models.Model):
    """How long an invoice may stay in a status before people are told it is stuck (invoicing.watchdog).

    Set by the platform in the admin. A row for a country wins over the row for every country
    (country ""). `first_after` raises the first alert, `second_after` (optional, longer) one more.
    Counted from when the status began, or, for UNDELIVERED, as the time left before mcDeadline.
    """

    class Status(models.TextChoices):
        SUBMITTING = "SUBMITTING", _("Submitting (Clearvo has not confirmed it)")
        PENDING = "PENDING", _("Pending at the authority")
        UNDELIVERED = "UNDELIVERED", _("Undelivered to the buyer")

    class CountedFrom(models.TextChoices):
        STATUS = "status", _("after the status began")
        DEADLINE = "deadline", _("before the delivery deadline (mcDeadline)")

    country = models.CharField(
        _("country"),
        max_length=2,
        choices=DestinationCountry.choices,
        blank=True,
        help_text=_("Empty: every country without a limit of its own."),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    counted_from = models.CharField(_("counted"), max_length=8, choices=CountedFrom.choices, default=CountedFrom.STATUS)
    first_after = models.DurationField(_("first alert"), help_text=_("For example 0:10:00 for ten minutes."))
    second_after = models.DurationField(
        _("second alert"),
        null=True,
        blank=True,
        help_text=_("Empty: one alert only. Further from the start than the first (nearer the deadline)."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("status limit")
        verbose_name_plural = _("status limits")
        ordering = ["status", "country"]
        constraints = [
            models.UniqueConstraint(fields=["country", "status"], name="one_status_limit_per_country_and_status"),
        ]

    def __str__(self):
        return f"{self.country or '*'} {self.status}"

    def clean(self):
        errors = {}
        if self.first_after is not None and self.first_after <= timedelta(0):
            errors["first_after"] = _("A limit is a length of time longer than zero.")
        if self.counted_from == self.CountedFrom.DEADLINE and self.status != self.Status.UNDELIVERED:
            errors["counted_from"] = _("Only an undelivered invoice has a delivery deadline to count from.")
        if self.second_after is not None and self.first_after is not None:
            if self.counted_from == self.CountedFrom.DEADLINE and self.second_after >= self.first_after:
                errors["second_after"] = _("Before the deadline, the second alert comes nearer to it: a shorter time.")
            elif self.counted_from == self.CountedFrom.STATUS and self.second_after <= self.first_after:
                errors["second_after"] = _("The second alert comes after the first: a longer time.")
        if errors:
            raise ValidationError(errors)


class StatusAlert(models.Model):
    """One alert raised for a submission stuck in a status past one of its limits: at most one per
    (submission, status, stay in the status, level), whatever the number of watchdog runs."""

    administration_path = "submission__invoice__administration"

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("submission")
    )
    status = models.CharField(_("status"), max_length=12, choices=StatusLimit.Status.choices)
    level = models.PositiveSmallIntegerField(_("alert"), help_text=_("1: first limit, 2: second limit."))
    limit = models.DurationField(_("limit"))
    # The start of the stay in the status the alert is about: a person's retry, or a status that
    # moved on and came back, starts a new stay, whose limits count again.
    since = models.DateTimeField(_("in the status since"))
    raised_at = models.DateTimeField(_("raised"))

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("status alert")
        verbose_name_plural = _("status alerts")
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "status", "since", "level"], name="one_alert_per_stay_and_level"
            ),
        ]

    def __str__(self):
        return f"{self.submission} {self.status} #{self.level}"
