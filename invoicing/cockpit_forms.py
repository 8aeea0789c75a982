"""The clearance queue's filters (invoicing.cockpit_views): a GET form whose invalid values are ignored."""

from django import forms
from django.utils.translation import gettext_lazy as _

from invoicing.cockpit import Problem
from invoicing.models import DestinationCountry
from portal.fragments import fragment_key

SMALL_SELECT = {"class": "form-select form-select-sm"}
ASSIGNEES = [("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody"))]


class QueueFilterForm(forms.Form):
    problem = forms.ChoiceField(
        label=_("Problem"),
        required=False,
        choices=[("", _("Every problem")), *Problem.choices],
        widget=forms.Select(attrs=SMALL_SELECT),
    )
    administration = forms.TypedChoiceField(
        label=_("Company"), required=False, coerce=int, empty_value=None, widget=forms.Select(attrs=SMALL_SELECT)
    )
    assignee = forms.ChoiceField(
        label=_("Assigned to"), required=False, choices=ASSIGNEES, widget=forms.Select(attrs=SMALL_SELECT)
    )
    country = forms.ChoiceField(
        label=_("Destination country"),
        required=False,
        choices=[("", _("Every country")), *DestinationCountry.choices],
        widget=forms.Select(attrs=SMALL_SELECT),
    )

    def __init__(self, data, *, administrations):
        super().__init__(data)
        self.fields["administration"].choices = [
            ("", _("Every company")),
            *((administration.pk, administration.name) for administration in administrations),
        ]

    def fragment_key(self) -> str:
        """What the form's HTML depends on: the language, the values given and the companies offered
        (the page keeps the drawn form under it, in the `fragments` cache)."""
        values = [self.data.get(name) for name in self.fields] if self.is_bound else None
        return fragment_key(values, self.fields["administration"].choices[1:])

    def values(self) -> dict:
        """The valid values that are set (a value that is not valid counts as not set)."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}
