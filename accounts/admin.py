from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.credentials import credential_invalidate
from accounts.models import ClearfactsCredential, Membership, Office, User

# A person's office role and kind come from Clearfacts (the sync sets them and records a change):
# the admin shows them read-only, so that nobody becomes an office administrator unrecorded.
MEMBERSHIP_FROM_CLEARFACTS = ["role", "kind"]


class MembershipInline(admin.StackedInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["office"]
    readonly_fields = MEMBERSHIP_FROM_CLEARFACTS


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

    def delete_view(self, request, object_id, extra_context=None):
        # The audit log keeps who acted (Activity.actor is PROTECT): such a person is deactivated instead.
        if request.method == "GET" and User.objects.filter(pk=object_id, activities__isnull=False).exists():
            self.message_user(
                request,
                _(
                    "This person acted in the portal and the audit log keeps who acted: they cannot be "
                    "deleted. Deactivate them instead (untick “Active”)."
                ),
                messages.WARNING,
            )
        return super().delete_view(request, object_id, extra_context)


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
    readonly_fields = MEMBERSHIP_FROM_CLEARFACTS

    def get_readonly_fields(self, request, membership=None):
        # Moving a person to another office is Clearfacts' to do too (their accountant).
        return [*MEMBERSHIP_FROM_CLEARFACTS, "user", "office"] if membership else MEMBERSHIP_FROM_CLEARFACTS


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
