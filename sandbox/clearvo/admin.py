from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from sandbox.clearvo.keys import display_prefix, environment_of, generate_key
from sandbox.clearvo.models import (
    ApiKey,
    Environment,
    IdempotencyRecord,
    InvoiceEvent,
    InvoiceSubmission,
    key_hash,
)


class ApiKeyCreationForm(forms.ModelForm):
    raw_key = forms.CharField(
        label=_("key"),
        required=False,
        help_text=_("Leave empty to generate one. Only its hash is stored."),
    )
    new_environment = forms.ChoiceField(
        label=_("environment"),
        choices=Environment.choices,
        initial=Environment.TEST,
        help_text=_("For a generated key; a key entered above names its own environment."),
    )

    class Meta:
        model = ApiKey
        fields = ["organisation", "is_active"]

    def clean_raw_key(self):
        raw_key = self.cleaned_data["raw_key"].strip()
        if raw_key:
            try:
                environment_of(raw_key)
            except ValueError as error:
                raise forms.ValidationError(str(error)) from error
            if ApiKey.objects.filter(key_hash=key_hash(raw_key)).exists():
                raise forms.ValidationError(_("This key already exists."))
        return raw_key


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "organisation", "environment", "is_active", "created_at"]
    list_filter = ["environment", "is_active"]
    search_fields = ["prefix", "organisation"]
    readonly_fields = ["prefix", "environment", "created_at"]
    fields = ["prefix", "organisation", "environment", "is_active", "created_at"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["raw_key", "new_environment", "organisation", "is_active"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            raw_key = form.cleaned_data["raw_key"] or generate_key(Environment(form.cleaned_data["new_environment"]))
            obj.key_hash = key_hash(raw_key)
            obj.prefix = display_prefix(raw_key)
            obj.environment = environment_of(raw_key)
            messages.warning(request, _("The new API key is %(key)s. It is not shown again.") % {"key": raw_key})
        super().save_model(request, obj, form, change)


class InvoiceEventInline(admin.TabularInline):
    model = InvoiceEvent
    extra = 0
    fields = ["status", "at", "message", "extra"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(InvoiceSubmission)
class InvoiceSubmissionAdmin(admin.ModelAdmin):
    list_display = [
        "reference_id",
        "country",
        "invoice_number",
        "clearance_status",
        "terminal",
        "scenario",
        "api_key",
        "entity_id",
        "submitted_at",
    ]
    list_filter = ["country", "clearance_status", "terminal", "scenario", "document_type", "api_key__environment"]
    search_fields = ["reference_id", "invoice_number", "supplier_key", "entity_id", "idempotency_key"]
    date_hierarchy = "submitted_at"
    list_select_related = ["api_key"]
    raw_id_fields = ["duplicate_of"]
    readonly_fields = ["api_key", "reference_id", "idempotency_key", "supplier_key", "payload"]
    inlines = [InvoiceEventInline]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "api_key", "response_status", "invoice", "created_at"]
    list_filter = ["response_status", "api_key"]
    search_fields = ["key", "payload_hash", "invoice__reference_id"]
    list_select_related = ["api_key", "invoice"]
    raw_id_fields = ["invoice"]
    readonly_fields = ["api_key", "key", "payload_hash", "response_status", "response_body", "created_at"]
