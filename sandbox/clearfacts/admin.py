from django.contrib import admin
from django.utils import timezone

from sandbox.clearfacts import models


class CompanyInline(admin.TabularInline):
    model = models.Company
    extra = 0
    fields = ["name", "company_number", "account_manager"]


@admin.register(models.Accountant)
class AccountantAdmin(admin.ModelAdmin):
    list_display = ["name", "company_number", "email"]
    search_fields = ["name", "company_number"]
    inlines = [CompanyInline]


@admin.register(models.Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "company_number", "accountant", "account_manager"]
    list_filter = ["accountant"]
    search_fields = ["name", "company_number"]


@admin.register(models.ClearfactsUser)
class ClearfactsUserAdmin(admin.ModelAdmin):
    list_display = ["username", "full_name", "accountant", "kind", "associate_type", "sees_all_companies", "active"]
    list_filter = ["accountant", "kind", "associate_type", "active"]
    search_fields = ["username", "email", "first_name", "last_name"]
    filter_horizontal = ["companies", "associate_groups"]
    exclude = ["password"]
    actions = ["revoke_all_tokens"]

    @admin.action(description="Revoke every token of the selected users")
    def revoke_all_tokens(self, request, queryset):
        now = timezone.now()
        count = models.AccessToken.objects.filter(user__in=queryset, revoked_at__isnull=True).update(
            revoked_at=now, refresh_revoked_at=now
        )
        self.message_user(request, f"{count} tokens revoked.")


@admin.register(models.AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ["token_prefix", "kind", "user", "client", "issued_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["kind", "client"]
    search_fields = ["user__username", "token_prefix", "name"]
    exclude = ["token_hash", "refresh_token_hash"]
    readonly_fields = [
        "kind",
        "user",
        "client",
        "authorization_code",
        "token_prefix",
        "scope",
        "issued_at",
        "expires_at",
        "refresh_expires_at",
        "last_used_at",
    ]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        now = timezone.now()
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=now, refresh_revoked_at=now)
        self.message_user(request, f"{count} tokens revoked.")


@admin.register(models.OAuthClient)
class OAuthClientAdmin(admin.ModelAdmin):
    list_display = ["name", "client_id", "connected_app", "created_at"]
    exclude = ["client_secret_hash"]


@admin.register(models.Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = [
        "filename",
        "company",
        "destination",
        "invoice_type",
        "archive_type",
        "amount_of_pages",
        "uploaded_at",
    ]
    list_filter = ["destination", "company"]
    search_fields = ["filename", "uuid", "sha256"]


@admin.register(models.SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ["kid", "created_at", "retired_at", "published_until"]
    exclude = ["private_pem"]
    readonly_fields = ["kid", "created_at", "retired_at", "published_until"]


for model in (models.AssociateGroup, models.Journal, models.Customer, models.ArchiveCategory, models.AppInfo):
    admin.site.register(model)


@admin.register(models.Misbehaviour)
class MisbehaviourAdmin(admin.ModelAdmin):
    list_display = ["kind", "remaining", "created_at"]
