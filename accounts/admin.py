from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.credentials import credential_invalidate
from accounts.models import ClearfactsCredential, Membership, Office, User


class MembershipInline(admin.StackedInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["office"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "email", "office_name", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "membership__role", "membership__office"]
    search_fields = ["username", "display_name", "email", "clearfacts_username", "oidc_subject"]
    list_select_related = ["membership__office"]
    inlines = [MembershipInline]
    fieldsets = BaseUserAdmin.fieldsets + (
        (
            _("Clearfacts"),
            {"fields": ["display_name", "locale", "clearfacts_username", "oidc_issuer", "oidc_subject"]},
        ),
    )
    readonly_fields = ["oidc_issuer", "oidc_subject", "clearfacts_username", "last_login", "date_joined"]

    @admin.display(description=_("office"), ordering="membership__office__name")
    def office_name(self, user):
        return user.office or "—"


@admin.register(Office)
class OfficeAdmin(admin.ModelAdmin):
    list_display = ["name", "company_number_display", "email", "country_iso2", "synced_at"]
    list_filter = ["country_iso2"]
    search_fields = ["name", "company_number", "email"]
    readonly_fields = ["synced_at", "created_at"]

    @admin.display(description=_("company number"), ordering="company_number")
    def company_number_display(self, office):
        return office.formatted_company_number


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "office", "role", "updated_at"]
    list_filter = ["role", "office"]
    search_fields = ["user__username", "user__email", "user__display_name", "office__name"]
    list_select_related = ["user", "office"]
    autocomplete_fields = ["user", "office"]


@admin.register(ClearfactsCredential)
class ClearfactsCredentialAdmin(admin.ModelAdmin):
    """Status and scopes of the stored tokens; the tokens themselves are never shown."""

    list_display = ["user", "status", "access_expires_at", "refreshed_at", "invalid_reason"]
    list_filter = ["status"]
    search_fields = ["user__username", "user__email", "user__display_name"]
    list_select_related = ["user"]
    fields = ["user", "status", "invalid_reason", "scopes", "issued_at", "access_expires_at", "refreshed_at"]
    readonly_fields = fields
    actions = ["invalidate"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Require a new sign-in (stops background work for these users)"))
    def invalidate(self, request, queryset):
        for credential in queryset.select_related("user"):
            credential_invalidate(user=credential.user, reason=f"invalidated by {request.user}")
        self.message_user(request, _("The selected users must sign in again."))
