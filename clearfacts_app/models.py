from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Office
from portal.companies import format_company_number, validate_company_number


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
