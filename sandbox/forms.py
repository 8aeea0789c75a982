from django import forms
from django.core.validators import MaxValueValidator

from sandbox.live_settings import SETTINGS, environment
from sandbox.models import FaultPlan, Kind, SandboxSettings, Service


class KnobsForm(forms.ModelForm):
    """The Sandbox settings row, its fault kinds as checkboxes (stored comma-separated)."""

    fault_kinds = forms.MultipleChoiceField(
        label=SandboxSettings._meta.get_field("fault_kinds").verbose_name,
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = SandboxSettings
        fields = list(SETTINGS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        defaults = environment()
        stored = self.instance.fault_kinds
        self.initial["fault_kinds"] = stored.split(",") if stored else []
        self.fields[
            "fault_kinds"
        ].help_text = (
            f"What a random fault may be. None ticked: {', '.join(defaults.fault_kinds)} (SANDBOX_FAULT_KINDS)."
        )
        if "hold_seconds" in self.fields:
            self.fields["hold_seconds"].validators.append(MaxValueValidator(FaultPlanForm.MAX_HOLD_SECONDS))
        every = dict(Service.choices).get(defaults.fault_service, "Every service")
        self.fields["fault_service"].choices = [("", f"{every} (SANDBOX_FAULT_SERVICE)"), *Service.choices]

    def clean_fault_kinds(self) -> str | None:
        return ",".join(self.cleaned_data["fault_kinds"]) or None


class SandboxSettingsForm(KnobsForm):
    """The knobs on /sandbox/; an empty field shows (and keeps) the environment's value."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        defaults = environment()
        for name, field in self.fields.items():
            if name == "fault_kinds":
                field.widget.attrs["class"] = "form-check-input"
            elif name == "fault_service":
                field.widget.attrs["class"] = "form-select"
            else:
                field.widget.attrs.update(
                    {"class": "form-control", "placeholder": f"{getattr(defaults, name)} ({SETTINGS[name]})"}
                )

    def full_clean(self):
        super().full_clean()
        _mark_invalid(self)


class FaultPlanForm(forms.ModelForm):
    """A planned fault, added on /sandbox/: the next calls to a service fail this way."""

    class Meta:
        model = FaultPlan
        fields = ["service", "operation", "when", "kind", "status", "retry_after", "hold_seconds", "remaining"]
        labels = {"remaining": "Count"}
        help_texts = {"operation": 'Empty: any operation; for Clearvo e.g. "POST /invoices".'}

    # The sandbox page is open to anyone who can reach it (like the service it stands in for): these
    # caps keep one form from tying up the server it shares with the portal.
    MAX_COUNT, MAX_HOLD_SECONDS = 1000, 300

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="plan", **kwargs)
        self.fields["remaining"].max_value = self.MAX_COUNT
        self.fields["remaining"].validators.append(MaxValueValidator(self.MAX_COUNT))
        self.fields["hold_seconds"].validators.append(MaxValueValidator(self.MAX_HOLD_SECONDS))
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select" if isinstance(field.widget, forms.Select) else "form-control"

    def full_clean(self):
        super().full_clean()
        _mark_invalid(self)


def _mark_invalid(form: forms.BaseForm) -> None:
    for name in form.errors:
        if name in form.fields:
            field = form[name]
            attrs = form.fields[name].widget.attrs
            attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
            attrs.update(
                {"aria-invalid": "true", "aria-describedby": f"{field.auto_id}-error {field.auto_id}_helptext"}
            )
