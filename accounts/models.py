from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.companies import format_company_number, validate_company_number
from portal.crypto import EncryptedTextField


class User(AbstractUser):
    """A person: a Clearfacts user (signed in through OpenID Connect) or platform staff.

    Clearfacts users are identified by (oidc_issuer, oidc_subject), never by e-mail, and have
    no usable password. Staff are local accounts that sign in with e-mail, password and TOTP.
    """

    display_name = models.CharField(_("name"), max_length=200, blank=True)
    locale = models.CharField(_("locale"), max_length=16, blank=True, help_text=_("For example nl-BE."))
    oidc_issuer = models.CharField(_("OpenID issuer"), max_length=300, blank=True)
    oidc_subject = models.CharField(_("OpenID subject"), max_length=255, blank=True)
    clearfacts_username = models.CharField(_("Clearfacts username"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                fields=["oidc_issuer", "oidc_subject"],
                condition=~models.Q(oidc_subject=""),
                name="unique_oidc_identity",
            ),
        ]

    def __str__(self):
        return self.get_full_name() or self.email or self.username

    def get_full_name(self):
        return self.display_name or super().get_full_name()

    @property
    def is_clearfacts_user(self) -> bool:
        return bool(self.oidc_subject)

    @property
    def office(self):
        membership = getattr(self, "membership", None)
        return membership.office if membership else None


class Office(models.Model):
    """An accounting office, the tenant. Mirrored from Clearfacts' `accountant` query."""

    company_number = models.CharField(
        _("company number"), max_length=10, unique=True, validators=[validate_company_number]
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True)
    street_address = models.CharField(_("street address"), max_length=300, blank=True)
    country_iso2 = models.CharField(_("country code"), max_length=2, blank=True)
    country_name = models.CharField(_("country"), max_length=100, blank=True)
    synced_at = models.DateTimeField(_("last synchronised"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("office")
        verbose_name_plural = _("offices")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def formatted_company_number(self) -> str:
        return format_company_number(self.company_number)


class Membership(models.Model):
    """Links a user to their one office, with the role they have in this portal."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Office administrator")
        MEMBER = "member", _("Member")
        VIEWER = "viewer", _("Viewer (read-only)")

    class Kind(models.TextChoices):
        ASSOCIATE = "associate", _("Associate of the office")
        CLIENT = "client", _("Client user of a company")

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership", verbose_name=_("user"))
    kind = models.CharField(
        _("kind"),
        max_length=10,
        choices=Kind.choices,
        default=Kind.ASSOCIATE,
        help_text=_("From Clearfacts at sign-in: a client user cannot read the office's associates."),
    )
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("office"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self):
        return f"{self.user} @ {self.office} ({self.get_role_display()})"

    def has_role(self, role: str) -> bool:
        """Whether this role is `role` or a higher one (viewer < member < office administrator)."""
        ranks = [self.Role.VIEWER, self.Role.MEMBER, self.Role.ADMIN]
        return ranks.index(self.role) >= ranks.index(role)

    @property
    def is_office_admin(self) -> bool:
        return self.has_role(self.Role.ADMIN)

    @property
    def is_associate(self) -> bool:
        """Associates see the office pages; a client user of a company sees only their companies."""
        return self.kind == self.Kind.ASSOCIATE


class ClearfactsCredential(models.Model):
    """The Clearfacts token the portal holds for a user, so background work can act for them.

    Tokens are encrypted at rest and never logged. A long-lived token has no known expiry; a
    one-hour token (offline_access) comes with a rotating refresh token. Invalid means Clearfacts
    refused it: the user must sign in again, and background work for them stops.
    """

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        INVALID = "invalid", _("Sign-in needed")

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="clearfacts_credential", verbose_name=_("user")
    )
    access_token = EncryptedTextField(_("access token"))
    access_expires_at = models.DateTimeField(_("access token expires"), null=True, blank=True)
    refresh_token = EncryptedTextField(_("refresh token"), blank=True)
    scopes = models.TextField(_("granted scopes"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.VALID)
    invalid_reason = models.CharField(_("why it is invalid"), max_length=200, blank=True)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    refreshed_at = models.DateTimeField(_("last refreshed"), null=True, blank=True)
    refreshing_until = models.DateTimeField(
        _("being refreshed until"), null=True, blank=True, help_text=_("A process holds the refresh until then.")
    )

    class Meta:
        verbose_name = _("Clearfacts credential")
        verbose_name_plural = _("Clearfacts credentials")

    def __str__(self):
        return f"{self.user} ({self.get_status_display()})"

    @property
    def is_valid(self) -> bool:
        return self.status == self.Status.VALID

    def has_scope(self, scope: str) -> bool:
        granted = set(self.scopes.split())
        return scope in granted or (scope in ("archive_read", "archive_actions") and "archive" in granted)

    def expires_within(self, margin: timedelta) -> bool:
        return self.access_expires_at is not None and self.access_expires_at <= timezone.now() + margin
