"""The period of an evidence pack (invoicing.evidence_views): which administration, which issue dates, which status."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearfacts_app.models import Administration
from invoicing.models import Invoice

# Only invoices that left draft have a PDF, a UBL and a clearance to show.
STATUSES = [status for status in Invoice.Status.choices if status[0] != Invoice.Status.DRAFT]
EVERY_STATUS = "any"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(attrs={"class": "form-control"}, format="%Y-%m-%d")


class EvidencePeriodForm(forms.Form):
    company = forms.ModelChoiceField(
        label=gettext_lazy("Administration"),
        queryset=Administration.objects.none(),
        to_field_name="company_number",
        required=False,
        empty_label=gettext_lazy("Every administration"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    issued_from = forms.DateField(label=gettext_lazy("Issued from"), widget=DateInput())
    issued_to = forms.DateField(label=gettext_lazy("Issued until"), widget=DateInput())
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[*STATUSES, (EVERY_STATUS, gettext_lazy("Every status but draft"))],
        initial=Invoice.Status.ACCEPTED,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = Administration.objects.visible_to(user).order_by("name")

    def clean(self):
        data = super().clean()
        issued_from, issued_to = data.get("issued_from"), data.get("issued_to")
        if issued_from and issued_to and issued_from > issued_to:
            labels = {"start": self.fields["issued_from"].label, "end": self.fields["issued_to"].label}
            raise forms.ValidationError(
                _("“%(start)s” is after “%(end)s”: swap the two dates.") % labels, code="dates_swapped"
            )
        return data

    def statuses(self) -> list[str]:
        status = self.cleaned_data["status"]
        return [value for value, _label in STATUSES] if status == EVERY_STATUS else [status]
