from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from clearfacts_app.documents import document_retry
from clearfacts_app.models import Activity, Administration, AdministrationAccess, Document


class AdministrationAccessInline(admin.TabularInline):
    model = AdministrationAccess
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["granted_at"]


@admin.register(Administration)
class AdministrationAdmin(admin.ModelAdmin):
    list_display = ["name", "formatted_company_number", "office", "account_manager", "synced_at"]
    list_filter = ["office", "country_iso2"]
    search_fields = ["name", "company_number", "account_manager"]
    list_select_related = ["office"]
    readonly_fields = ["synced_at", "created_at"]
    inlines = [AdministrationAccessInline]

    @admin.display(description=_("company number"), ordering="company_number")
    def formatted_company_number(self, administration):
        return administration.formatted_company_number


@admin.register(AdministrationAccess)
class AdministrationAccessAdmin(admin.ModelAdmin):
    list_display = ["user", "administration", "office", "granted_at"]
    list_filter = ["administration__office"]
    search_fields = ["user__username", "user__email", "administration__name", "administration__company_number"]
    list_select_related = ["user", "administration__office"]
    autocomplete_fields = ["user", "administration"]

    @admin.display(description=_("office"), ordering="administration__office__name")
    def office(self, access):
        return access.administration.office


# A document's reason is shown translated (`reason`), not as its stored code and parameters.
REASON_FIELDS = ["reason_code", "reason_params"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = [
        "filename",
        "administration",
        "destination",
        "status",
        "reason",
        "uploaded_by",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "destination", "administration__office"]
    search_fields = ["filename", "sha256", "clearfacts_uuid", "administration__name", "uploaded_by__email"]
    list_select_related = ["administration", "uploaded_by"]
    date_hierarchy = "created_at"
    exclude = REASON_FIELDS
    readonly_fields = ["reason", *(field.name for field in Document._meta.fields if field.name not in REASON_FIELDS)]
    actions = ["retry"]

    @admin.display(description=_("reason"))
    def reason(self, document):
        return document.reason_text

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send the selected failed documents again"))
    def retry(self, request, queryset):
        requeued = sum(document_retry(document=document, actor=request.user) for document in queryset)
        self.message_user(request, _("%(count)d documents queued to be sent again.") % {"count": requeued})


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    """Activity rows are a record: staff read them, nobody adds, edits or deletes one."""

    list_display = ["created_at", "administration", "actor", "action"]
    list_filter = ["action", "administration__office"]
    search_fields = ["action", "administration__name", "administration__company_number", "actor__email"]
    list_select_related = ["administration", "actor"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
