"""Forms of the invoicing profile and the buyers' address book.

Numbers arrive as people write them ("BE 0403.170.701", "be71 0961 2345 6769"); the forms keep
them the way Clearvo wants them (invoicing.identifiers) and say beside the field what is wrong.
"""

import re

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries
from stdnum.de import leitweg
from stdnum.it import codicefiscale

from invoicing import identifiers, numbers
from invoicing.buyers import vat_number_split
from invoicing.models import Buyer, InvoicingProfile
from invoicing.profiles import EDITABLE_FIELDS, SUPPLIER_TAX_COUNTRY
from portal.companies import format_company_number

CODICE_DESTINATARIO = re.compile(r"^[A-Z0-9]{7}$")
MAX_PAYMENT_TERMS_DAYS = 365


def country_choices():
    """Every country, named in the reader's language (evaluated when the form is shown)."""
    return [("", "—"), *countries]


def country_field(label, *, required: bool, help_text="") -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=country_choices, required=required, help_text=help_text)


def _compacted(value: str) -> str:
    return "".join(character for character in value if character.isalnum()).upper()


class FieldsetsMixin:
    """The form's fields in groups, each with a legend, as the page shows them."""

    FIELDSETS: list[tuple] = []

    def fieldsets(self) -> list[tuple]:
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]


class InvoicingProfileForm(FieldsetsMixin, forms.ModelForm):
    """What a person edits of the profile; the VAT country is always BE (the Belgian company number)."""

    FIELDSETS = [
        (gettext_lazy("Company"), ["legal_name", "tax_id"]),
        (gettext_lazy("Address"), ["street", "postal_code", "city", "country"]),
        (gettext_lazy("Payment"), ["iban", "bic", "default_currency", "payment_terms_days"]),
        (gettext_lazy("Four-eyes approval"), ["four_eyes"]),
        (gettext_lazy("Invoice numbers"), ["number_pattern"]),
        (gettext_lazy("Books"), ["file_in_books"]),
    ]

    country = country_field(InvoicingProfile._meta.get_field("country").verbose_name, required=True)

    class Meta:
        model = InvoicingProfile
        fields = EDITABLE_FIELDS
        help_texts = {
            "tax_id": gettext_lazy("The Belgian company number, written as BE 0403.170.701 or 0403170701."),
            "iban": gettext_lazy("Recommended: buyers see where to pay."),
            "four_eyes": gettext_lazy(
                "Before an invoice is submitted, a colleague who neither wrote nor changed it approves it. A change "
                "after the approval needs a new approval."
            ),
        }
        labels = {"four_eyes": gettext_lazy("Ask for four-eyes approval")}
        widgets = {
            "file_in_books": forms.CheckboxInput(attrs={"class": "form-check-input d-block"}),
            "four_eyes": forms.CheckboxInput(attrs={"class": "form-check-input d-block"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.tax_id:
            # Shown the way Belgian company numbers are written; saved compact.
            self.initial["tax_id"] = f"{SUPPLIER_TAX_COUNTRY} {format_company_number(self.instance.tax_id)}"
        if self.instance.iban:
            self.initial["iban"] = identifiers.iban_shown(self.instance.iban)  # saved compact
        terms = self.fields["payment_terms_days"]
        terms.validators.append(MaxValueValidator(MAX_PAYMENT_TERMS_DAYS))
        terms.widget.attrs["max"] = MAX_PAYMENT_TERMS_DAYS

    def preview_numbers_from(self, url: str) -> None:
        """While the pattern is typed, HTMX asks `url` for the number it would give (#number-example)."""
        described_by = ["id_number_pattern_helptext", "number-example"]
        if self.is_bound and "number_pattern" in self.errors:
            described_by.append("id_number_pattern_error")
        self.fields["number_pattern"].widget.attrs.update(
            {
                "hx-get": url,
                "hx-trigger": "input changed delay:300ms",
                "hx-target": "#number-example",
                "hx-swap": "outerHTML",
                "aria-describedby": " ".join(described_by),
            }
        )

    def clean_tax_id(self):
        tax_id = identifiers.compact_tax_id(self.cleaned_data["tax_id"], SUPPLIER_TAX_COUNTRY)
        if problem := identifiers.tax_id_problem(tax_id, SUPPLIER_TAX_COUNTRY):
            raise forms.ValidationError(problem)
        return tax_id

    def clean_iban(self):
        iban = identifiers.compact_iban(self.cleaned_data["iban"])
        if problem := identifiers.iban_problem(iban):
            raise forms.ValidationError(problem)
        return iban

    def clean_bic(self):
        bic = identifiers.compact_bic(self.cleaned_data["bic"])
        if problem := identifiers.bic_problem(bic):
            raise forms.ValidationError(problem)
        return bic

    def clean_number_pattern(self):
        pattern = self.cleaned_data["number_pattern"].strip()
        if problem := numbers.pattern_problem(pattern):
            raise forms.ValidationError(problem)
        return pattern


class BuyerForm(FieldsetsMixin, forms.ModelForm):
    """An address book entry. Clearvo needs a buyer's city and country; tax ids are checked for the
    country they are registered in, and a prefix ("IT 0123…") chooses that country when none is."""

    tax_id_country = country_field(
        Buyer._meta.get_field("tax_id_country").verbose_name,
        required=False,
        help_text=gettext_lazy("The country the VAT or tax number is registered in."),
    )
    country = country_field(Buyer._meta.get_field("country").verbose_name, required=True)

    class Meta:
        model = Buyer
        fields = [
            "name",
            "tax_id",
            "tax_id_country",
            "street",
            "postal_code",
            "city",
            "country",
            "codice_fiscale",
            "codice_destinatario",
            "pec_destinatario",
            "leitweg_id",
            "email",
            "language",
        ]
        help_texts = {
            "tax_id": gettext_lazy("With or without the country prefix: IT00743110157 or 00743110157."),
            "codice_destinatario": gettext_lazy("Italy: the SDI recipient code, 7 letters and digits."),
            "pec_destinatario": gettext_lazy("Italy: the certified e-mail address, if there is no recipient code."),
            "codice_fiscale": gettext_lazy("Italy: the buyer's fiscal code (16 characters for a person)."),
            "leitweg_id": gettext_lazy("Germany: the routing id of a public buyer, such as 991-03730-19."),
        }

    # The fields that only invoices to Italy or Germany use are shown apart.
    FIELDSETS = [
        (gettext_lazy("Buyer"), ["name", "tax_id", "tax_id_country"]),
        (gettext_lazy("Address"), ["street", "postal_code", "city", "country"]),
        (gettext_lazy("For invoices to Italy"), ["codice_destinatario", "pec_destinatario", "codice_fiscale"]),
        (gettext_lazy("For invoices to Germany"), ["leitweg_id"]),
        (gettext_lazy("E-mailing invoices"), ["email", "language"]),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["city"].required = True
        self.fields["language"].choices = [("", gettext_lazy("The invoice's language")), *settings.LANGUAGES]

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_codice_fiscale(self):
        value = _compacted(self.cleaned_data["codice_fiscale"])
        if value and not codicefiscale.is_valid(value):
            raise forms.ValidationError(_("This is not a valid codice fiscale: check the characters."))
        return value

    def clean_codice_destinatario(self):
        value = _compacted(self.cleaned_data["codice_destinatario"])
        if value and not CODICE_DESTINATARIO.match(value):
            raise forms.ValidationError(_("A codice destinatario has exactly 7 letters and digits."))
        return value

    def clean_leitweg_id(self):
        value = self.cleaned_data["leitweg_id"].strip().upper()
        if value and not leitweg.is_valid(value):
            raise forms.ValidationError(_("This is not a valid Leitweg-ID, such as 991-03730-19."))
        return value

    def clean(self):
        data = super().clean()
        tax_id, country = data.get("tax_id", ""), data.get("tax_id_country", "")
        if tax_id:
            prefixed_country, _number = vat_number_split(tax_id)
            if not country and prefixed_country in countries:
                country = data["tax_id_country"] = prefixed_country
            data["tax_id"] = tax_id = identifiers.compact_tax_id(tax_id, country)
            if problem := identifiers.tax_id_problem(tax_id, country):
                self.add_error("tax_id_country" if not country else "tax_id", problem)
        elif country:
            data["tax_id_country"] = ""
        return data
