from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Service(models.TextChoices):
    CLEARFACTS_OIDC = "clearfacts-oidc", "Clearfacts OpenID Connect"
    CLEARFACTS_GRAPHQL = "clearfacts-graphql", "Clearfacts GraphQL"
    CLEARVO = "clearvo", "Clearvo"


class RequestLog(models.Model):
    """One call the sandbox received. Tests and demos count what the portal sent with it."""

    service = models.CharField(_("service"), max_length=32, choices=Service.choices, db_index=True)
    operation = models.CharField(_("operation"), max_length=200, blank=True)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    status = models.PositiveSmallIntegerField(_("status"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, blank=True, db_index=True)
    entity_id = models.CharField(_("entity id"), max_length=200, blank=True)
    caller = models.CharField(_("caller"), max_length=200, blank=True, help_text=_("User or API key (never secrets)."))
    fault_injected = models.BooleanField(_("fault injected"), default=False)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("request log entry")
        verbose_name_plural = _("request log")
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"{self.service} {self.operation or self.path} → {self.status}"


class FaultPlan(models.Model):
    """The next `remaining` calls to `service` fail with `status` (deterministic fault injection)."""

    service = models.CharField(_("service"), max_length=32, choices=Service.choices)
    operation = models.CharField(_("operation"), max_length=200, blank=True, help_text=_("Empty: any operation."))
    status = models.PositiveSmallIntegerField(_("status"), default=503)
    remaining = models.PositiveIntegerField(_("remaining"), default=1)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("fault plan")
        verbose_name_plural = _("fault plans")
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.remaining}× {self.status} for {self.service} {self.operation}".strip()


class SandboxSettings(models.Model):
    """The sandbox's time, fault, latency and bandwidth knobs, changeable while it runs.

    One row (see sandbox/live_settings.py). An empty field keeps the environment variable's value.
    """

    ONLY_ID = 1

    fault_rate = models.FloatField(
        _("fault rate"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Share of API calls answered with a 500, 502 or 503, from 0 to 1. Empty: SANDBOX_FAULT_RATE."),
    )
    latency_ms = models.PositiveIntegerField(
        _("latency (ms)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(60_000)],
        help_text=_("Added to every API call. Empty: SANDBOX_LATENCY_MS."),
    )
    time_factor = models.FloatField(
        _("time factor"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1.0), MaxValueValidator(100_000.0)],
        help_text=_("Divides every clearance duration (60: a 5-minute cadence takes 5 s). Empty: SANDBOX_TIME_FACTOR."),
    )
    bandwidth_kbps = models.PositiveIntegerField(
        _("bandwidth (KB/s)"),
        null=True,
        blank=True,
        help_text=_("API request bodies are read no faster than this; 0 is full speed. Empty: SANDBOX_BANDWIDTH_KBPS."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("sandbox settings")
        verbose_name_plural = _("sandbox settings")

    def __str__(self):
        return str(_("sandbox settings"))

    def save(self, *args, **kwargs):
        self.pk = self.ONLY_ID
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "SandboxSettings":
        return cls.objects.filter(pk=cls.ONLY_ID).first() or cls(pk=cls.ONLY_ID)
