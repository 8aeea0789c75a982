from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from sandbox.forms import KnobsForm
from sandbox.live_settings import SETTINGS
from sandbox.models import FaultPlan, RequestLog, SandboxSettings


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "service",
        "operation",
        "method",
        "status",
        "fault_when",
        "fault_kind",
        "work_status",
        "idempotency_key",
        "entity_id",
        "caller",
    ]
    list_filter = ["service", "status", "fault_injected", "fault_when", "fault_kind"]
    search_fields = ["operation", "path", "idempotency_key", "entity_id", "caller"]
    date_hierarchy = "received_at"
    readonly_fields = [field.name for field in RequestLog._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(FaultPlan)
class FaultPlanAdmin(admin.ModelAdmin):
    list_display = ["service", "operation", "when", "kind", "status", "retry_after", "hold_seconds", "remaining"]
    list_filter = ["service", "when", "kind"]
    fields = ["service", "operation", "when", "kind", "status", "retry_after", "hold_seconds", "remaining"]


@admin.register(SandboxSettings)
class SandboxSettingsAdmin(admin.ModelAdmin):
    """One row: the list goes straight to it (creating it, all fields empty, the first time)."""

    form = KnobsForm
    fields = [*SETTINGS, "updated_at"]
    readonly_fields = ["updated_at"]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        row = SandboxSettings.load()
        if row._state.adding:
            row.save()
        return redirect("admin:sandbox_sandboxsettings_change", row.pk)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
