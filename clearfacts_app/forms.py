import datetime

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from clearfacts_app import client
from clearfacts_app.selectors import month_start

MAX_STATISTICS_MONTHS = 36
EARLIEST_STATISTICS_MONTH = datetime.date(2000, 1, 1)  # before Clearfacts existed
COLOUR = RegexValidator(
    r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|[a-zA-Z]{3,20})$",
    _("Use a colour name such as red, or a hex code such as #d5a855."),
)
LANGUAGES = [("nl_BE", "Nederlands"), ("fr_BE", "Français"), ("en_GB", "English")]


def months_between(start: datetime.date, end: datetime.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self):
        super().__init__(format="%Y-%m")


class StatisticsPeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), input_formats=["%Y-%m"], widget=MonthInput())
    end = forms.DateField(label=_("To"), input_formats=["%Y-%m"], widget=MonthInput())

    @classmethod
    def default_period(cls) -> dict:
        """The last twelve months, this one included."""
        this_month = month_start(timezone.localdate())
        months = this_month.year * 12 + this_month.month - 1 - 11
        return {"start": datetime.date(months // 12, months % 12 + 1, 1), "end": this_month}

    @staticmethod
    def latest_month() -> datetime.date:
        """December of next year: later months cannot have statistics yet."""
        return datetime.date(timezone.localdate().year + 1, 12, 1)

    def _bounded(self, name: str) -> None:
        month = self.cleaned_data.get(name)
        if month is None:
            return
        earliest, latest = EARLIEST_STATISTICS_MONTH, self.latest_month()
        if not earliest <= month <= latest:
            self.add_error(
                name,
                _("Choose a month from %(earliest)s to %(latest)s.")
                % {
                    "earliest": date_format(earliest, "YEAR_MONTH_FORMAT"),
                    "latest": date_format(latest, "YEAR_MONTH_FORMAT"),
                },
            )

    def clean(self):
        data = super().clean()
        self._bounded("start")
        self._bounded("end")
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The end must not be before the start."))
            elif months_between(start, end) > MAX_STATISTICS_MONTHS:
                self.add_error("end", _("Choose at most %(count)d months.") % {"count": MAX_STATISTICS_MONTHS})
        return data


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label=_("Search customers"), required=False, max_length=100)
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000)


class ClearfactsErrorsMixin:
    """Shows an error Clearfacts reports for one of its fields on the matching field of the form."""

    CLEARFACTS_FIELDS: dict[str, str] = {}

    def add_clearfacts_error(self, field: str | None, message: str) -> None:
        self.add_error(self.CLEARFACTS_FIELDS.get(field or ""), message)

    def add_change_failure(self, error: client.ClearfactsError) -> None:
        """Why Clearfacts did not make the change: on the field it names, else above the form."""
        if isinstance(error, client.Unavailable):
            self.add_error(None, _("Clearfacts could not be reached just now. Try again in a moment."))
        else:
            self.add_clearfacts_error(error.details.get("field"), error.message or _("Clearfacts refused the change."))


class AssociateForm(ClearfactsErrorsMixin, forms.Form):
    """An associate (employee) of the office in Clearfacts, for addAssociate and editAssociate."""

    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    email = forms.EmailField(label=_("E-mail"))
    associate_type = forms.ChoiceField(
        label=_("Role in Clearfacts"), choices=[("USER", _("Associate")), ("ADMIN", _("Administrator"))]
    )
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)
    groups = forms.MultipleChoiceField(label=_("Associate groups"), required=False, widget=forms.CheckboxSelectMultiple)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    # Clearfacts names its fields differently; its errors are shown on ours.
    CLEARFACTS_FIELDS = {
        "firstName": "first_name",
        "lastName": "last_name",
        "email": "email",
        "type": "associate_type",
        "language": "language",
        "associateGroups": "groups",
    }

    def __init__(self, *args, groups: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].choices = [(group["id"], group["name"]) for group in groups]

    def as_clearfacts(self) -> dict:
        data = self.cleaned_data
        return {
            "firstName": data["first_name"],
            "lastName": data["last_name"],
            "email": data["email"],
            "type": data["associate_type"],
            "language": data["language"],
            "active": data["active"],
            "associateGroups": [{"id": group_id} for group_id in data["groups"]],
        }


class AppInfoForm(ClearfactsErrorsMixin, forms.Form):
    """What Clearfacts shows for the app connected to the integration (updateAppInfo)."""

    CLEARFACTS_FIELDS = {"imageUrl": "image_url", "emailaddress": "email"}

    image_url = forms.URLField(label=_("Image URL"), required=False, max_length=500, assume_scheme="https")
    email = forms.EmailField(label=_("Contact e-mail"), required=False)
    badge_text = forms.CharField(label=_("Badge text"), required=False, max_length=20)
    badge_text_color = forms.CharField(label=_("Badge text colour"), required=False, max_length=20, validators=[COLOUR])
    badge_color = forms.CharField(label=_("Badge colour"), required=False, max_length=20, validators=[COLOUR])
    icon_type = forms.CharField(
        label=_("Icon"),
        required=False,
        max_length=40,
        validators=[RegexValidator(r"^[a-z0-9-]+$", _("Use an icon name such as trophy."))],
    )
    icon_color = forms.CharField(label=_("Icon colour"), required=False, max_length=20, validators=[COLOUR])

    def clean(self):
        data = super().clean()
        if not any(data.get(name) for name in self.fields):
            raise forms.ValidationError(_("Fill in at least one field."))
        return data
