from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from clearfacts_app.activity import describe
from clearfacts_app.documents import document_retry
from clearfacts_app.models import Activity, Administration, AdministrationAccess, Document
from portal.admin_readonly import ReadOnly


class AdministrationAccessInline(ReadOnly, admin.TabularInline):
    """Grants come from Clearfacts (the sync adds and withdraws them, and records it) and roles are
    changed on the administration's People tab (which records them): the admin only shows them, so
    that nothing changes who may do what without an audit row."""

    model = AdministrationAccess
    extra = 0
    fields = ["user", "role", "granted_at"]
    readonly_fields = fields


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
class AdministrationAccessAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["user", "administration", "office", "role", "granted_at"]
    list_filter = ["administration__office", "role"]
    search_fields = ["user__username", "user__email", "administration__name", "administration__company_number"]
    list_select_related = ["user", "administration__office"]
    fields = ["user", "administration", "role", "granted_at"]
    readonly_fields = fields
    actions = None

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

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


def changes_text(changes) -> str:
    """{field: [before, after]} as "field: before → after" lines (secrets are never stored in it)."""
    if not isinstance(changes, dict):
        return ""
    lines = []
    for field, values in changes.items():
        before, after = (list(values) + [None, None])[:2] if isinstance(values, list | tuple) else (None, values)
        lines.append(f"{field}: {'—' if before in (None, '') else before} → {'—' if after in (None, '') else after}")
    return "\n".join(lines)


@admin.register(Activity)
class ActivityAdmin(ReadOnly, admin.ModelAdmin):
    """The audit log: staff read it; nobody adds, edits or deletes a row (the model refuses too)."""

    list_display = ["created_at", "office", "administration", "actor", "action", "description", "what_changed"]
    list_filter = ["office", "action", "created_at"]
    search_fields = ["action", "administration__name", "administration__company_number", "actor__email", "office__name"]
    list_select_related = ["office", "administration", "actor"]
    date_hierarchy = "created_at"
    fields = ["created_at", "office", "administration", "actor", "action", "description", "what_changed", "data"]
    readonly_fields = fields
    actions = None  # not even "delete selected"

    @admin.display(description=_("what happened"))
    def description(self, activity):
        return describe(activity)

    @admin.display(description=_("what changed"))
    def what_changed(self, activity):
        lines = changes_text(activity.changes).splitlines()
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        return super().changeform_view(request, object_id, form_url, extra_context)
