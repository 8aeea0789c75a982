from django.contrib import admin

from sandbox.models import FaultPlan, RequestLog


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    list_display = ["received_at", "service", "operation", "method", "status", "idempotency_key", "entity_id", "caller"]
    list_filter = ["service", "status", "fault_injected"]
    search_fields = ["operation", "path", "idempotency_key", "entity_id", "caller"]
    date_hierarchy = "received_at"
    readonly_fields = [field.name for field in RequestLog._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(FaultPlan)
class FaultPlanAdmin(admin.ModelAdmin):
    list_display = ["service", "operation", "status", "remaining", "created_at"]
    list_filter = ["service"]
