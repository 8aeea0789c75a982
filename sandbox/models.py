from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Service(models.TextChoices):
    CLEARFACTS_OIDC = "clearfacts-oidc", "Clearfacts OpenID Connect"
    CLEARFACTS_GRAPHQL = "clearfacts-graphql", "Clearfacts GraphQL"
    CLEARVO = "clearvo", "Clearvo"


class When(models.TextChoices):
    """When an injected fault strikes: before the work (nothing changes) or after it is committed."""

    BEFORE = "before", _("before the work")
    AFTER = "after", _("after the work is committed")


class Kind(models.TextChoices):
    """How an injected fault answers (see sandbox/faults.py and the README's table)."""

    ERROR = "error", _("error in the service's own format")
    HTML = "html", _("HTML gateway page")
    EMPTY = "empty", _("empty body")
    RETRY_LATER = "retry_later", _("429 or 503 with Retry-After")
    DROP = "drop", _("connection dropped, no answer")
    HOLD = "hold", _("answer held back")
    TRUNCATED = "truncated", _("truncated body")
    INVALID_JSON = "invalid_json", _("invalid JSON body")


class RequestLog(models.Model):
    """One call the sandbox received. Tests and demos count what the portal sent with it."""

    service = models.CharField(_("service"), max_length=32, choices=Service.choices, db_index=True)
    operation = models.CharField(_("operation"), max_length=200, blank=True)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    status = models.PositiveSmallIntegerField(_("status"), help_text=_("0: no answer (connection dropped)."))
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, blank=True, db_index=True)
    entity_id = models.CharField(_("entity id"), max_length=200, blank=True)
    caller = models.CharField(_("caller"), max_length=200, blank=True, help_text=_("User or API key (never secrets)."))
    fault_injected = models.BooleanField(_("fault injected"), default=False)
    fault_when = models.CharField(_("fault when"), max_length=8, choices=When.choices, blank=True)
    fault_kind = models.CharField(_("fault kind"), max_length=16, choices=Kind.choices, blank=True)
    work_status = models.PositiveSmallIntegerField(
        _("work status"),
        null=True,
        blank=True,
        help_text=_("What the service answered before a fault after the work replaced or delayed it."),
    )
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("request log entry")
        verbose_name_plural = _("request log")
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"{self.service} {self.operation or self.path} → {self.status}"


# Which kinds exist on which side of the work, and which of them answer with a status of their own.
KINDS = {
    When.BEFORE: (Kind.ERROR, Kind.HTML, Kind.EMPTY, Kind.RETRY_LATER, Kind.DROP),
    When.AFTER: (Kind.ERROR, Kind.HTML, Kind.EMPTY, Kind.DROP, Kind.HOLD, Kind.TRUNCATED, Kind.INVALID_JSON),
}
STATUS_KINDS = (Kind.ERROR, Kind.HTML, Kind.EMPTY, Kind.RETRY_LATER)
RETRY_LATER_STATUSES = (429, 503)


def parse_fault_kinds(value: str) -> tuple[str, ...]:
    """ "error, drop" → ("error", "drop"); an unknown kind raises ValueError."""
    kinds = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [kind for kind in kinds if kind not in Kind.values]
    if unknown:
        raise ValueError(f"unknown fault kinds: {', '.join(unknown)} (known: {', '.join(Kind.values)})")
    return kinds


def validate_fault_kinds(value: str) -> None:
    try:
        parse_fault_kinds(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None


class FaultPlan(models.Model):
    """The next `remaining` calls to `service` fail this way (deterministic fault injection)."""

    service = models.CharField(_("service"), max_length=32, choices=Service.choices)
    operation = models.CharField(_("operation"), max_length=200, blank=True, help_text=_("Empty: any operation."))
    when = models.CharField(_("when"), max_length=8, choices=When.choices, default=When.BEFORE)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.ERROR)
    status = models.PositiveSmallIntegerField(
        _("status"),
        default=503,
        validators=[MinValueValidator(400), MaxValueValidator(599)],
        help_text=_("For an error, an HTML page, an empty body, or 429/503 with Retry-After."),
    )
    retry_after = models.PositiveIntegerField(
        _("Retry-After (s)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(3600)],
        help_text=_("Sent as the Retry-After header; 1 s when empty for 429 or 503 with Retry-After."),
    )
    hold_seconds = models.FloatField(
        _("hold (s)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(600.0)],
        help_text=_("How long a held answer waits. Empty: the sandbox settings' hold."),
    )
    remaining = models.PositiveIntegerField(_("remaining"), default=1, validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("fault plan")
        verbose_name_plural = _("fault plans")
        ordering = ["created_at", "id"]

    def __str__(self):
        status = f" {self.status}" if self.kind in STATUS_KINDS else ""
        return f"{self.remaining}× {self.kind}{status} {self.when} for {self.service} {self.operation}".strip()

    def clean(self):
        if self.kind not in KINDS.get(self.when, ()):
            raise ValidationError(
                {
                    "kind": _("“%(kind)s” cannot happen %(when)s.")
                    % {"kind": self.get_kind_display(), "when": self.get_when_display()}
                }
            )
        if self.kind == Kind.RETRY_LATER and self.status not in RETRY_LATER_STATUSES:
            raise ValidationError({"status": _("Only 429 and 503 come with Retry-After.")})


class SandboxSettings(models.Model):
    """The sandbox's time, fault, latency, hold and bandwidth knobs, changeable while it runs.

    One row (see sandbox/live_settings.py). An empty field keeps the environment variable's value.
    """

    ONLY_ID = 1

    fault_rate = models.FloatField(
        _("fault rate"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_(
            "Share of API calls that fail, with one of the fault kinds, from 0 to 1. Empty: SANDBOX_FAULT_RATE."
        ),
    )
    after_commit_share = models.FloatField(
        _("share after the work"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_(
            "Share of those faults that strike after the work is committed (stored and cached, as a success), "
            "from 0 to 1. Empty: SANDBOX_AFTER_COMMIT_SHARE."
        ),
    )
    fault_kinds = models.CharField(
        _("fault kinds"),
        max_length=200,
        null=True,
        blank=True,
        validators=[validate_fault_kinds],
        help_text=_("What a random fault may be, comma-separated. Empty: SANDBOX_FAULT_KINDS."),
    )
    fault_service = models.CharField(
        _("faulty service"),
        max_length=32,
        choices=Service.choices,
        null=True,
        blank=True,
        help_text=_("Random faults only on this service. Empty: SANDBOX_FAULT_SERVICE (every service when unset)."),
    )
    hold_seconds = models.FloatField(
        _("hold (s)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(600.0)],
        help_text=_(
            "How long a held answer waits before it is sent: longer than the client's timeout. "
            "Empty: SANDBOX_HOLD_SECONDS."
        ),
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
