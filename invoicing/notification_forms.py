"""The form of a person's notification setting: one checkbox per kind of outcome e-mail."""

from django import forms

from invoicing.models import NotificationSetting


class NotificationSettingForm(forms.ModelForm):
    class Meta:
        model = NotificationSetting
        fields = ["accepted", "rejected", "held"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-check-input"
