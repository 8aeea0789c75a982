"""The invoice editor's forms: the invoice (a ModelForm) and its lines (an inline formset).

Both are bound to one administration: every id that arrives in them (the original invoice, the
address book entry, the lines' own ids) is looked up through it, never by primary key alone. The
checks that mirror Clearvo (invoicing.rules) run on the unsaved instances, also while some fields
have errors (on what did clean, `cleaned_copy`), and each problem is put beside the field or line
it concerns (`attach_problems`).
"""

import copy
from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy
from django_countries import countries

from invoicing import identifiers, rates
from invoicing.models import DestinationCountry, Invoice, InvoiceLine, InvoicingProfile, TaxCode
from invoicing.numbers import number_suggest
from invoicing.rules import Problem
from portal.parsing import decimal_text, is_number

LINES_PREFIX = "lines"
# Where the many invoices of a large administration would make the select unusable: the latest ones.
ORIGINAL_CHOICES_LIMIT = 300


# More lines than anyone types by hand; it bounds what one request may make the server render, and
# keeps a full form (about 8 fields a line) under DATA_UPLOAD_MAX_NUMBER_FIELDS.
MAX_LINES = 100


class DecimalInput(forms.TextInput):
    """A number as people write it in the page's language: 0,95 in nl and fr, 0.95 in en, and 8, not
    8.000000 (the database keeps six decimals). A text input: a number input parses with the
    browser's language, not the page's, and drops a comma it does not expect ("0,95" became 95)."""

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, Decimal) and value.is_finite():
            value = Decimal(f"{value.normalize():f}")
        return super().format_value(value)


class LocalizedDecimalField(forms.DecimalField):
    """A DecimalField read in the active language's way (portal.parsing.decimal_text), groups and all."""

    widget = DecimalInput

    def __init__(self, **kwargs):
        super().__init__(localize=True, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not isinstance(value, str):
            return Decimal(str(value))
        text = decimal_text(value)
        if text is None:
            example = formats.number_format(Decimal("1234.5"), use_l10n=True, force_grouping=True)
            raise forms.ValidationError(
                _("Enter a number, such as %(example)s."), code="invalid", params={"example": example}
            )
        return Decimal(text)


class DateInput(forms.DateInput):
    """The browser's own date picker: keyboard-friendly, in the reader's locale, ISO on the wire."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class StaleLinkField(forms.ModelChoiceField):
    """A hidden link that may have gone stale (an entry deleted meanwhile, or another tenant's id):
    an id outside the queryset is dropped, never used."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError:
            return None


def capitalise_labels(form) -> None:
    """Labels are shown alone (beside the field, in the error summary): capitalised, whatever the
    language writes the verbose name shared with sentences ("btw- of fiscaal nummer", "adresse PEC")."""
    for field in form.fields.values():
        if field.label:
            field.label = capfirst(field.label)


def country_choices():
    return [("", "—"), *countries]


def _compact_tax_id(value: str, country: str) -> str:
    return identifiers.compact_tax_id(value, country) if value else ""


class InvoiceForm(forms.ModelForm):
    """The invoice's own fields; `administration` and `profile` say whose invoice it is."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Invoice
        fields = Invoice.EDITOR_FIELDS
        labels = {
            "buyer_name": gettext_lazy("Name"),
            "buyer_tax_id": gettext_lazy("VAT or tax number"),
            "buyer_tax_id_country": gettext_lazy("Country of that number"),
            "buyer_street": gettext_lazy("Street and number"),
            "buyer_city": gettext_lazy("City"),
            "buyer_postal_code": gettext_lazy("Postal code"),
            "buyer_country": gettext_lazy("Country"),
            "document_type": gettext_lazy("Type"),
            "invoice_number": gettext_lazy("Invoice number"),
            "issue_date": gettext_lazy("Issue date"),
            "tax_point_date": gettext_lazy("VAT point date"),
            "due_date": gettext_lazy("Due date"),
            "currency": gettext_lazy("Currency"),
            "country": gettext_lazy("Destination country"),
            "original_invoice": gettext_lazy("Original invoice"),
            "iban": gettext_lazy("IBAN"),
            "bic": gettext_lazy("BIC"),
            "payment_means": gettext_lazy("Payment means"),
            "payment_reference": gettext_lazy("Payment reference"),
            "customer_reference": gettext_lazy("Your reference"),
            "it_codice_fiscale": gettext_lazy("Codice fiscale"),
            "it_codice_destinatario": gettext_lazy("Codice destinatario"),
            "it_pec_destinatario": gettext_lazy("PEC address"),
            "de_buyer_reference": gettext_lazy("Leitweg-ID (buyer reference)"),
        }
        help_texts = {
            "tax_point_date": gettext_lazy("Only when it differs from the issue date."),
            "buyer_tax_id": gettext_lazy("As on the buyer's letterhead; the country prefix and spaces are removed."),
            "customer_reference": gettext_lazy("Kept by Clearvo with the invoice; not sent to the authority."),
            "it_codice_fiscale": gettext_lazy("For a buyer who is a private person."),
            "it_codice_destinatario": gettext_lazy("The buyer's 7-character SDI code; Clearvo looks it up if empty."),
            "it_pec_destinatario": gettext_lazy("Used when there is no codice destinatario."),
            "de_buyer_reference": gettext_lazy("Required for public-sector buyers; optional otherwise."),
        }
        field_classes = {"buyer": StaleLinkField}
        widgets = {
            "issue_date": DateInput,
            "tax_point_date": DateInput,
            "due_date": DateInput,
            "buyer": forms.HiddenInput,
        }

    def __init__(self, *args, administration, profile: InvoicingProfile, **kwargs):
        super().__init__(*args, **kwargs)
        self.administration, self.profile = administration, profile
        fields = self.fields
        capitalise_labels(self)
        fields["buyer"].queryset = administration.buyers.all()
        fields["original_invoice"].queryset = administration.invoices.filter(
            document_type=Invoice.DocumentType.INVOICE
        ).exclude(pk=self.instance.pk)
        fields["invoice_number"].required = False
        fields["invoice_number"].help_text = _(
            "Leave it empty to get the next number of your pattern when you save (now %(number)s)."
        ) % {"number": self.suggested_number}
        fields["invoice_number"].widget.attrs["placeholder"] = self.suggested_number
        terms = profile.payment_terms_days
        fields["due_date"].help_text = _("Leave it empty for the issue date plus %(days)s days.") % {"days": terms}
        fields["country"].choices = [("", "—"), *DestinationCountry.choices]
        for name in ("buyer_country", "buyer_tax_id_country"):
            fields[name] = forms.ChoiceField(
                label=fields[name].label,
                choices=country_choices(),
                required=fields[name].required,
                help_text=fields[name].help_text,
            )
        for name in ("buyer_name", "buyer_street", "buyer_city"):
            fields[name].widget.attrs["autocomplete"] = "off"
        if self.is_note:
            # Only a note offers the original invoice: then the latest invoices, and the chosen one.
            recent = list(fields["original_invoice"].queryset.order_by("-created_at", "-pk")[:ORIGINAL_CHOICES_LIMIT])
            chosen = self["original_invoice"].value()
            if chosen and is_number(str(chosen)) and all(str(invoice.pk) != str(chosen) for invoice in recent):
                recent += list(fields["original_invoice"].queryset.filter(pk=chosen))
            fields["original_invoice"].widget.choices = [("", "—")] + [
                (invoice.pk, original_label(invoice)) for invoice in recent
            ]
        else:
            fields["original_invoice"].widget.choices = []
        if not self.is_bound:
            fields["version"].initial = self.instance.version

    # What the page depends on, read from what the user typed (valid or not yet).
    @property
    def chosen_country(self) -> str:
        value = self["country"].value() or ""
        return value if value in DestinationCountry.values else ""

    @property
    def chosen_type(self) -> str:
        return self["document_type"].value() or Invoice.DocumentType.INVOICE

    @property
    def is_note(self) -> bool:
        return self.chosen_type in Invoice.NOTE_TYPES

    @property
    def suggested_number(self) -> str:
        """The number a save would allocate now: the sequence of the issue date's year."""
        if not hasattr(self, "_suggested_number"):
            issue_date = self["issue_date"].value()
            if isinstance(issue_date, str):
                try:
                    issue_date = date.fromisoformat(issue_date)
                except ValueError:
                    issue_date = None
            on = issue_date if isinstance(issue_date, date) else None
            self._suggested_number = number_suggest(self.profile, on=on) if self.profile.pk else ""
        return self._suggested_number

    def clean_invoice_number(self):
        number = self.cleaned_data["invoice_number"].strip()
        taken = self.administration.invoices.filter(invoice_number=number).exclude(pk=self.instance.pk)
        if number and taken.exists():
            raise forms.ValidationError(
                _("Invoice %(number)s already exists in this administration; choose another number or leave it empty.")
                % {"number": number}
            )
        return number

    def clean_iban(self):
        return identifiers.compact_iban(self.cleaned_data["iban"]) if self.cleaned_data["iban"] else ""

    def clean_bic(self):
        return identifiers.compact_bic(self.cleaned_data["bic"]) if self.cleaned_data["bic"] else ""

    def clean(self):
        data = super().clean()
        if data.get("buyer_tax_id"):
            data["buyer_tax_id"] = _compact_tax_id(data["buyer_tax_id"], data.get("buyer_tax_id_country", ""))
        # Fields that do not apply are kept while the user edits (the page carries them hidden) and
        # emptied when saved, so that an invoice to Germany carries no Italian data.
        country, note = data.get("country"), data.get("document_type") in Invoice.NOTE_TYPES
        for name in self.fields_not_applying(country=country, note=note):
            data[name] = None if name == "original_invoice" else ""
        return data

    @staticmethod
    def fields_not_applying(*, country, note) -> list[str]:
        names = []
        if country != "IT":
            names += ["it_codice_fiscale", "it_codice_destinatario", "it_pec_destinatario"]
        if country != "DE":
            names += ["de_buyer_reference"]
        if not note:
            names += ["original_invoice"]
        return names

    @property
    def hidden_not_applying(self) -> list:
        """The bound fields the page does not show now but keeps, hidden, while the user edits."""
        names = self.fields_not_applying(country=self.chosen_country, note=self.is_note)
        return [self[name] for name in names]


def original_label(invoice: Invoice) -> str:
    issued = formats.date_format(invoice.issue_date, "SHORT_DATE_FORMAT") if invoice.issue_date else ""
    return " · ".join(part for part in (invoice.invoice_number, invoice.buyer_name, issued) if part)


class InvoiceLineForm(forms.ModelForm):
    class Meta:
        model = InvoiceLine
        fields = ["description", "quantity", "unit", "unit_price", "tax_code", "exemption_reason"]
        labels = {
            "description": gettext_lazy("Description"),
            "quantity": gettext_lazy("Quantity"),
            "unit": gettext_lazy("Unit"),
            "unit_price": gettext_lazy("Unit price"),
            "tax_code": gettext_lazy("VAT"),
            "exemption_reason": gettext_lazy("Exemption reason"),
        }
        help_texts = {"unit": "", "exemption_reason": gettext_lazy("The legal reason, as the invoice must state it.")}
        field_classes = {"quantity": LocalizedDecimalField, "unit_price": LocalizedDecimalField}

    def __init__(self, *args, country: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        capitalise_labels(self)
        self.fields["unit"].required = False  # Clearvo's default, EA, when left empty
        self.fields["unit"].widget.attrs.update(size=4, autocapitalize="characters")
        # The select offers the codes valid in the destination country, with their rate; a code
        # chosen before the country changed stays, marked, so nothing changes without the user.
        codes = rates.tax_codes_for(country) if country else list(TaxCode.values)
        current = self["tax_code"].value()
        if current and current not in codes and current in TaxCode.values:
            codes.append(current)
        self.fields["tax_code"].widget.choices = [(code, tax_code_label(code, country)) for code in codes]

    @property
    def is_exempt(self) -> bool:
        return self["tax_code"].value() == TaxCode.E

    def clean(self):
        data = super().clean()
        if data.get("tax_code") != TaxCode.E:
            data["exemption_reason"] = ""
        data["unit"] = (data.get("unit") or "").strip().upper() or "EA"
        return data


def tax_code_label(code: str, country: str) -> str:
    label = f"{code} · {TaxCode(code).label}"
    if not country:
        return label
    rate = rates.rate_for(country, code)
    if rate is None:
        return _("%(label)s (not valid for %(country)s)") % {
            "label": label,
            "country": countries.name(country) or country,
        }
    if code in rates.ZERO_RATED:
        return label
    return f"{label} ({formats.number_format(rate.normalize(), use_l10n=True)} %)"


class BaseInvoiceLineFormSet(forms.BaseInlineFormSet):
    """The lines; `country` limits the tax codes, `extra` adds empty lines (when asked for one)."""

    default_error_messages = {
        "too_many_forms": ngettext_lazy(
            "An invoice has at most %(num)d line.", "An invoice has at most %(num)d lines.", "num"
        ),
    }

    def __init__(self, *args, country: str = "", extra: int = 0, **kwargs):
        self.country, self.extra = country, extra
        kwargs.setdefault("prefix", LINES_PREFIX)
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "country": self.country}

    def add_fields(self, form, index):
        super().add_fields(form, index)
        # Django checks a posted line id against every line in the database; only this invoice's
        # lines may be named (none, while the invoice is new): another id is refused, never used.
        form.fields[self.model._meta.pk.name].queryset = self.get_queryset()
        form.fields[self.model._meta.pk.name].error_messages["invalid_choice"] = _(
            "This line is not a line of this invoice (any more). Reload the page to see its lines."
        )

    def is_removed(self, form) -> bool:
        return self.can_delete and hasattr(form, "cleaned_data") and self._should_delete_form(form)

    @property
    def kept_forms(self) -> list:
        """The forms of the lines the invoice keeps: not removed, and not left empty."""
        return [
            form
            for form in self.forms
            if not self.is_removed(form) and (form.instance.pk is not None or form.has_changed())
        ]


InvoiceLineFormSet = forms.inlineformset_factory(
    Invoice,
    InvoiceLine,
    form=InvoiceLineForm,
    formset=BaseInvoiceLineFormSet,
    fields=["description", "quantity", "unit", "unit_price", "tax_code", "exemption_reason"],
    extra=0,
    min_num=1,
    max_num=MAX_LINES,
    absolute_max=MAX_LINES,
    validate_max=True,
    can_delete=True,
)


def attach_problems(problems: list[Problem], form: InvoiceForm, line_forms: list) -> None:
    """Puts each Problem beside its field (or line); one the form has no field for goes on top, named.
    A field that already has an error (it did not clean) keeps that one."""
    for problem in problems:
        target = form if problem.line is None else line_forms[problem.line]
        field = None if problem.field == "__all__" else problem.field
        if field is not None and field in target.errors:
            continue
        if field is not None and field not in target.fields:
            model = Invoice if problem.line is None else InvoiceLine
            label = field_label(model, field)
            message = labelled(label, problem.message) if label else problem.message
            target.add_error(None, message)
        else:
            target.add_error(field, problem.message)


def labelled(label: str, message: str) -> str:
    """A message about a field, after its label: "IBAN: …" ("IBAN : …" in French, with a no-break space)."""
    return _("%(label)s: %(message)s") % {"label": label, "message": message}


def cleaned_copy(form):
    """A copy of a ModelForm's instance with what cleaned, and the fields that did not left empty,
    for the rules to check while the form has errors (the instance itself is left as it was)."""
    instance = copy.copy(form.instance)
    for name in form.errors:
        try:
            field = instance._meta.get_field(name)
        except FieldDoesNotExist:
            continue  # the whole form's errors, or a form field the model lacks
        empty = "" if isinstance(field, (models.CharField, models.TextField)) and not field.null else None
        setattr(instance, field.attname, empty)
    return instance


def field_label(model, name: str) -> str:
    """The field's verbose name, capitalised; empty for a name the model lacks."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return ""
    return capfirst(getattr(field, "verbose_name", "") or "")  # a reverse relation ("lines") has none


def quiet(form) -> None:
    """Keeps a form's cleaned values but forgets its errors: the page is re-rendered while the user
    is still typing (a line added, the country changed), not saved, so it shows no errors yet."""
    form.errors  # noqa: B018 (validates once)
    form._errors = forms.utils.ErrorDict()
