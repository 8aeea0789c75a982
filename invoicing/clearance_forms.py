"""Forms of the clearance pages: the office's Clearvo key, and the version a submit button carries."""

import re

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from invoicing.models import ClearvoAccount
from portal.parsing import is_number

# After the prefix: the key itself, in characters an HTTP header carries as they are.
KEY_BODY = re.compile(r"[A-Za-z0-9_\-.]{4,200}")


class ClearvoAccountForm(forms.ModelForm):
    """The office's Clearvo key, typed into a password field: never shown back, not even after an error."""

    api_key = forms.CharField(
        label=capfirst(_("API key")),
        max_length=220,
        strip=True,
        widget=forms.PasswordInput(
            render_value=False,
            attrs={"class": "form-control font-monospace", "autocomplete": "off", "spellcheck": "false"},
        ),
        help_text=_(
            "A test key starts with ck_test_, a live key with ck_live_. It is stored encrypted and never shown again."
        ),
    )

    class Meta:
        model = ClearvoAccount
        fields = ["api_key"]

    def clean_api_key(self) -> str:
        key = self.cleaned_data["api_key"]
        for prefix in (ClearvoAccount.TEST_PREFIX, ClearvoAccount.LIVE_PREFIX):
            if key.startswith(prefix) and KEY_BODY.fullmatch(key[len(prefix) :]):
                return key
        raise forms.ValidationError(
            _(
                "This is not a Clearvo key: a key starts with ck_test_ (test) or ck_live_ (live), followed by the "
                "key itself without spaces."
            ),
            code="prefix",
        )


class SubmitForm(forms.Form):
    """What a "Submit" button posts: the version of the invoice the page showed."""

    version = forms.IntegerField(min_value=1)


class BulkSubmitForm(forms.Form):
    """The drafts chosen on a list, each as "<invoice id>:<version the list showed>"."""

    LIMIT = 100

    invoice = forms.MultipleChoiceField(error_messages={"required": _("Choose the drafts to submit.")})
    next = forms.CharField(required=False, max_length=2000)

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        # The values are checked in clean_invoice (and looked up through the user's administrations by the view).
        self.fields["invoice"].choices = [(value, value) for value in (data.getlist("invoice") if data else [])]

    def clean_invoice(self) -> list[tuple[int, int]]:
        chosen, seen = [], set()
        for value in self.cleaned_data["invoice"]:
            pk, _sep, version = value.partition(":")
            if not (is_number(pk) and is_number(version)) or len(pk) > 18 or len(version) > 9:
                continue
            if int(pk) not in seen:
                seen.add(int(pk))
                chosen.append((int(pk), int(version)))
        if not chosen:
            raise forms.ValidationError(_("Choose the drafts to submit."), code="empty")
        if len(chosen) > self.LIMIT:
            raise forms.ValidationError(
                _("At most %(limit)d invoices can be submitted at once."), code="limit", params={"limit": self.LIMIT}
            )
        return chosen
