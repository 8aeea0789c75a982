"""The forms of a person's notification settings: which outcome e-mails they receive
(NotificationSetting) and which notifications of the bell also come by e-mail (NotificationPreference)."""

from django import forms

from clearfacts_app.models import NotificationPreference
from invoicing.models import NotificationSetting


class _Checkboxes(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-check-input"


class NotificationSettingForm(_Checkboxes):
    class Meta:
        model = NotificationSetting
        fields = ["accepted", "rejected", "held"]


class NotificationPreferenceForm(_Checkboxes):
    class Meta:
        model = NotificationPreference
        fields = ["review_assigned", "mentioned", "document_problem", "cockpit"]
