from django import forms

from sandbox.live_settings import SETTINGS, environment
from sandbox.models import SandboxSettings


class SandboxSettingsForm(forms.ModelForm):
    """The knobs on /sandbox/; an empty field shows (and keeps) the environment's value."""

    class Meta:
        model = SandboxSettings
        fields = list(SETTINGS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        defaults = environment()
        for name, field in self.fields.items():
            field.widget.attrs.update(
                {"class": "form-control", "placeholder": f"{getattr(defaults, name)} ({SETTINGS[name]})"}
            )

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs.update({"class": "form-control is-invalid", "aria-invalid": "true"})
                attrs["aria-describedby"] = f"id_{name}-error id_{name}_helptext"
