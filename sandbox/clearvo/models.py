"""The simulated Clearvo's own records: API keys, submitted invoices, their events, idempotency keys."""

import hashlib

from django.db import models
from django.utils.translation import gettext_lazy as _


def key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class Environment(models.TextChoices):
    TEST = "test", _("test")
    LIVE = "live", _("live")


class ApiKey(models.Model):
    """An x-api-key. Only its sha256 is stored; `prefix` is what logs and the admin show."""

    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=32, editable=False)
    environment = models.CharField(_("environment"), max_length=8, choices=Environment.choices, editable=False)
    organisation = models.CharField(_("organisation"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["organisation", "environment", "id"]

    def __str__(self):
        return f"{self.prefix} ({self.organisation})"


class Country(models.TextChoices):
    IT = "IT", _("Italy")
    PL = "PL", _("Poland")
    ES = "ES", _("Spain")
    PT = "PT", _("Portugal")
    FR = "FR", _("France")
    DE = "DE", _("Germany")
    RO = "RO", _("Romania")
    HU = "HU", _("Hungary")


class ClearanceStatus(models.TextChoices):
    PENDING = "PENDING", _("pending")
    ACCEPTED = "ACCEPTED", _("accepted")
    REJECTED = "REJECTED", _("rejected")
    DUPLICATE = "DUPLICATE", _("duplicate")
    UNDELIVERED = "UNDELIVERED", _("undelivered")


class Scenario(models.TextChoices):
    """What the invoice number's suffix asks the simulated authority to do (services.TRIGGERS)."""

    NONE = "", _("none")
    REJECT = "reject", _("reject")
    DUPLICATE = "duplicate", _("duplicate")
    UNDELIVERED = "undelivered", _("undelivered")
    SLOW = "slow", _("slow")
    SDI_00001 = "sdi-00001", "SDI 00001"
    SDI_00002 = "sdi-00002", "SDI 00002"
    SDI_00102 = "sdi-00102", "SDI 00102"
    SDI_00201 = "sdi-00201", "SDI 00201"
    KSEF_INVALID_NIP = "ksef-invalid-nip", "KSeF InvalidNip"
    KSEF_DUPLICATE = "ksef-duplicate", "KSeF DuplicateInvoice"
    KSEF_SCHEMA = "ksef-schema", "KSeF SchemaValidationError"
    PEPPOL_REJECT = "peppol-reject", "PEPPOL_AP rejection"
    PEPPOL_UNDELIVERED = "peppol-undelivered", _("not delivered via Peppol")


class InvoiceSubmission(models.Model):
    """One accepted POST /invoices. Its lifecycle is advanced on read (see lifecycle.py)."""

    reference_id = models.CharField(_("reference id"), max_length=32, unique=True)
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="invoices", verbose_name=_("API key"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, blank=True)
    entity_id = models.TextField(_("entity id"), blank=True, help_text=_("The x-taxually-entity-id header."))
    country = models.CharField(_("country"), max_length=2, choices=Country.choices)
    document_type = models.CharField(_("document type"), max_length=16)
    invoice_number = models.TextField(_("invoice number"))
    supplier_key = models.TextField(
        _("supplier key"), help_text=_("Tax id with its country, or the name: what duplicates are matched on.")
    )
    payload = models.JSONField(_("payload"))
    scenario = models.CharField(_("scenario"), max_length=32, choices=Scenario.choices, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("duplicate of"),
    )
    clearance_status = models.CharField(
        _("clearance status"), max_length=16, choices=ClearanceStatus.choices, default=ClearanceStatus.PENDING
    )
    terminal = models.BooleanField(_("terminal"), default=False)
    submitted_at = models.DateTimeField(_("submitted"), db_index=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    next_poll_after = models.DateTimeField(
        _("next poll after"), null=True, blank=True, help_text=_("The last nextPollAfter returned to the client.")
    )
    early_polls = models.PositiveIntegerField(
        _("early polls"), default=0, help_text=_("Polls before that nextPollAfter; too many are answered 429.")
    )
    cleared_at = models.DateTimeField(_("cleared"), null=True, blank=True)
    rejected_at = models.DateTimeField(_("rejected"), null=True, blank=True)
    error = models.JSONField(_("error"), null=True, blank=True)
    mc_deadline = models.DateTimeField(_("mcDeadline"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice submission")
        verbose_name_plural = _("invoice submissions")
        ordering = ["-submitted_at", "-id"]

    def __str__(self):
        return f"{self.reference_id} {self.clearance_status}"


class InvoiceEvent(models.Model):
    """A status transition, stamped with the time it was scheduled for (not the poll that saw it)."""

    invoice = models.ForeignKey(
        InvoiceSubmission, on_delete=models.CASCADE, related_name="events", verbose_name=_("invoice")
    )
    status = models.CharField(_("status"), max_length=16, choices=ClearanceStatus.choices)
    at = models.DateTimeField(_("at"))
    message = models.TextField(_("message"), blank=True)
    extra = models.JSONField(_("extra"), default=dict, blank=True, help_text=_("e.g. kSeFNumber, peppolDelivered"))

    class Meta:
        verbose_name = _("invoice event")
        verbose_name_plural = _("invoice events")
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["invoice", "status"], name="clearvo_event_once_per_status")]

    def __str__(self):
        return f"{self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


class IdempotencyRecord(models.Model):
    """The response cached for an x-idempotency-key, per API key."""

    api_key = models.ForeignKey(
        ApiKey, on_delete=models.CASCADE, related_name="idempotency_records", verbose_name=_("API key")
    )
    key = models.CharField(_("idempotency key"), max_length=64)
    payload_hash = models.CharField(_("payload sha256"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"))
    response_body = models.JSONField(_("response body"))
    invoice = models.ForeignKey(
        InvoiceSubmission,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invoice"),
    )
    created_at = models.DateTimeField(_("created"), db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="clearvo_idempotency_key_per_api_key")]

    def __str__(self):
        return f"{self.key} → {self.response_status}"
