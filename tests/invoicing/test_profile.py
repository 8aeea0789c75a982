"""The invoicing profile: prefilled from Clearfacts, checked as Clearvo would, changed by office administrators."""

import re

import pytest
from django.utils import timezone

from clearfacts_app.models import Activity
from invoicing.models import InvoicingProfile
from invoicing.profiles import address_split, profile_for, profile_problems
from tests.factories import make_administration

BELGIAN_NUMBER = "0403170701"  # a valid Belgian company number (check digits 97 - 4031707 mod 97)


def url(administration) -> str:
    return f"/administrations/{administration.company_number}/invoicing/profile/"


def valid_post(**changes) -> dict:
    return {
        "legal_name": "Bakkerij Janssens BV",
        "tax_id": "BE 0403.170.701",
        "street": "Molenstraat 7",
        "postal_code": "9300",
        "city": "Aalst",
        "country": "BE",
        "iban": "be71 0961 2345 6769",
        "bic": "gkcc be bb",
        "default_currency": "EUR",
        "payment_terms_days": "30",
        "number_pattern": "F{YYYY}-{NNNN}",
        "file_in_books": "on",  # the box is ticked by default, and a browser posts it
    } | changes


def field_errors(response, field) -> list[str]:
    return re.findall(rf'data-field-error="{field}">([^<]+)<', response.text)


def complete_profile(administration, **fields) -> InvoicingProfile:
    values = {
        "legal_name": "Bakkerij Janssens BV",
        "tax_id": BELGIAN_NUMBER,
        "street": "Molenstraat 7",
        "postal_code": "9300",
        "city": "Aalst",
        "country": "BE",
    }
    return InvoicingProfile.objects.create(administration=administration, **(values | fields))


# --- prefilled from the Clearfacts mirror ---


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Sint-Pietersnieuwstraat 12, 9000 Gent", ("Sint-Pietersnieuwstraat 12", "9000", "Gent")),
        ("Rue de Fer 21, B-5000 Namur", ("Rue de Fer 21", "5000", "Namur")),
        ("Hauptstraße 5, 10115 Berlin", ("Hauptstraße 5", "10115", "Berlin")),
    ],
)
def test_a_one_line_address_splits_into_street_postal_code_and_city(line, expected):
    split = address_split(line)

    assert (split["street"], split["postal_code"], split["city"]) == expected


@pytest.mark.parametrize("line", ["", "Molenstraat 7 9300 Aalst", "Molenstraat 7, Aalst", "Kaai 1, bus 3, 9000 Gent"])
def test_an_address_that_does_not_split_cleanly_is_not_guessed(line):
    assert address_split(line) is None


def test_a_first_visit_is_prefilled_from_the_mirror(client, owner, office):
    administration = make_administration(
        office, "Brouwerij De Leeuw NV", street_address="Molenstraat 7, 9300 Aalst", country_iso2="BE"
    )
    owner.administration_accesses.create(administration=administration)
    client.force_login(owner)

    page = client.get(url(administration))

    form = page.context["form"]
    assert form["legal_name"].value() == "Brouwerij De Leeuw NV"
    assert form["tax_id"].value() == f"BE {administration.formatted_company_number}"
    assert (form["street"].value(), form["postal_code"].value(), form["city"].value()) == (
        "Molenstraat 7",
        "9300",
        "Aalst",
    )
    assert form["country"].value() == "BE"
    assert 'data-testid="unsplit-address"' not in page.text
    assert not InvoicingProfile.objects.exists(), "a visit saves nothing"


def test_an_address_that_cannot_be_split_is_left_to_the_user_who_is_told(client, owner, office):
    administration = make_administration(office, "Garage Peeters BV", street_address="Tiensesteenweg 210 Leuven")
    owner.administration_accesses.create(administration=administration)
    client.force_login(owner)

    page = client.get(url(administration))

    form = page.context["form"]
    assert (form["street"].value(), form["postal_code"].value(), form["city"].value()) == ("", "", "")
    assert form["country"].value() == "BE", "Belgium when Clearfacts names no country"
    notice = page.text.split('data-testid="unsplit-address"', 1)[1].split("</div>", 1)[0]
    assert "Tiensesteenweg 210 Leuven" in notice and "could not split" in notice


# --- saving, as an office administrator ---


def test_an_administrator_saves_the_profile_cleaned_with_who_did_it_and_an_activity_row(client, owner, administration):
    client.force_login(owner)

    response = client.post(url(administration), valid_post())

    assert response.status_code == 302 and response["Location"] == url(administration)
    profile = InvoicingProfile.objects.get(administration=administration)
    assert (profile.tax_id, profile.tax_id_country) == (BELGIAN_NUMBER, "BE")
    assert (profile.iban, profile.bic) == ("BE71096123456769", "GKCCBEBB")
    assert profile.updated_by == owner and profile.number_pattern == "F{YYYY}-{NNNN}"
    activity = Activity.objects.get(administration=administration)
    assert (activity.action, activity.actor) == ("invoicing_profile.changed", owner)
    assert activity.data["profile"] == profile.pk and "iban" in activity.data["fields"]
    page = client.get(url(administration))
    assert 'data-testid="profile-ready"' in page.text and "The invoicing profile is saved." in page.text


def test_saving_again_changes_the_profile_not_its_number_sequence(client, owner, administration):
    profile = complete_profile(administration, next_sequence=42, sequence_year=2026)
    client.force_login(owner)

    client.post(url(administration), valid_post(city="Gent", next_sequence="1"))

    profile.refresh_from_db()
    assert profile.city == "Gent" and (profile.next_sequence, profile.sequence_year) == (42, 2026)
    assert InvoicingProfile.objects.count() == 1
    assert Activity.objects.get().data["fields"] == ["city", "iban", "bic", "number_pattern"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tax_id", "BE 0403.170.702", "not a valid company number"),
        ("tax_id", "12345", "not a valid company number"),
        ("iban", "BE71 0961 2345 6768", "not a valid IBAN"),
        ("bic", "GKCC", "not a valid BIC"),
        ("number_pattern", "INV-{YYYY}", "Include the sequence number"),
        ("number_pattern", "{YYYY}-{NNNN}-{XX}", "other text in braces"),
        ("payment_terms_days", "400", "less than or equal to 365"),
        ("country", "XX", "Select a valid choice"),
    ],
)
def test_a_wrong_value_is_refused_beside_its_field_and_nothing_is_saved(
    client, owner, administration, field, value, message
):
    client.force_login(owner)

    response = client.post(url(administration), valid_post(**{field: value}))

    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field)), field_errors(response, field)
    assert not InvoicingProfile.objects.exists() and not Activity.objects.exists()


def test_the_page_shows_the_next_number_of_the_pattern_and_htmx_previews_another(client, owner, administration):
    complete_profile(administration, number_pattern="{YYYY}-{NNNN}", next_sequence=7, sequence_year=2026)
    client.force_login(owner)
    year = timezone.localdate().year
    expected = f"{year}-0007" if year == 2026 else f"{year}-0001"

    page = client.get(url(administration))
    preview = client.get(url(administration), {"number_pattern": "INV{YY}/{NNNNNN}"}, headers={"HX-Request": "true"})
    broken = client.get(url(administration), {"number_pattern": "INV"}, headers={"HX-Request": "true"})

    assert f"The next invoice would get the number {expected}." in page.text
    pattern_input = re.search(r'<input[^>]*name="number_pattern"[^>]*>', page.text)[0]
    assert f'hx-get="{url(administration)}"' in pattern_input and 'hx-target="#number-example"' in pattern_input
    sequence = 7 if year == 2026 else 1
    assert preview.text.strip().startswith('<div class="form-text" id="number-example"')
    assert f"INV{year % 100:02d}/{sequence:06d}" in preview.text and "<html" not in preview.text
    assert "cannot number invoices" in broken.text
    assert "HX-Request" in page["Vary"]


# --- who may change it ---


@pytest.mark.parametrize("person", ["member", "viewer"])
def test_members_and_viewers_read_the_profile_without_a_form_and_are_told_who_changes_it(
    client, administration, person, request
):
    complete_profile(administration, iban="BE71096123456769")
    client.force_login(request.getfixturevalue(person))

    page = client.get(url(administration))

    assert page.status_code == 200
    assert 'data-testid="profile-form"' not in page.text and 'name="legal_name"' not in page.text
    details = page.text.split('data-testid="profile-details"', 1)[1].split("</dl>", 1)[0]
    assert "BE 0403.170.701" in details and "BE71 0961 2345 6769" in details and "Aalst" in details
    assert "Only office administrators can change the invoicing profile." in page.text


def test_the_read_only_profile_says_yes_or_no_in_the_readers_language(client, administration, member):
    complete_profile(administration)
    client.force_login(member)
    client.cookies["django_language"] = "nl"

    details = client.get(url(administration)).text.split('data-testid="profile-details"', 1)[1].split("</dl>")[0]

    assert '<dd class="col-sm-8">Ja</dd>' in details and "True" not in details


@pytest.mark.parametrize("person", ["member", "viewer"])
def test_members_and_viewers_cannot_post_a_profile(client, administration, person, request):
    client.force_login(request.getfixturevalue(person))

    response = client.post(url(administration), valid_post())

    assert response.status_code == 403
    assert not InvoicingProfile.objects.exists()


def test_an_outsider_gets_404_and_changes_nothing(client, outsider, administration):
    client.force_login(outsider)

    assert client.get(url(administration)).status_code == 404
    assert client.post(url(administration), valid_post()).status_code == 404
    assert not InvoicingProfile.objects.exists()


# --- what the profile lacks for Clearvo ---


def test_a_complete_saved_profile_has_no_problems(administration):
    assert profile_problems(complete_profile(administration)) == []


def test_an_unsaved_profile_must_be_saved_first_even_when_the_mirror_filled_everything(office):
    administration = make_administration(office, "Brouwerij De Leeuw NV", street_address="Molenstraat 7, 9300 Aalst")

    problems = profile_problems(profile_for(administration))

    assert [problem.field for problem in problems] == ["__all__"]


def test_each_missing_or_wrong_field_is_a_problem_naming_it(administration):
    profile = complete_profile(administration)
    for field, value in {
        "legal_name": " ",
        "tax_id": "0403170702",
        "street": "",
        "city": "",
        "postal_code": "",
    }.items():
        setattr(profile, field, value)
    profile.country, profile.iban = "", ""

    fields = [problem.field for problem in profile_problems(profile)]

    assert fields == ["legal_name", "tax_id", "street", "postal_code", "city", "country"], "no IBAN is no problem"


def test_a_missing_company_number_and_a_foreign_vat_country_are_problems(administration):
    missing = complete_profile(administration, tax_id="")
    foreign = InvoicingProfile(administration=administration, tax_id=BELGIAN_NUMBER, tax_id_country="NL")
    foreign.pk = missing.pk

    assert [p.message for p in profile_problems(missing)] == ["Enter the Belgian company number."]
    assert "Belgian company number" in next(p.message for p in profile_problems(foreign) if p.field == "tax_id")


def test_the_page_lists_the_problems_naming_each_field_and_the_missing_iban_as_a_note(client, owner, administration):
    complete_profile(administration, city="", postal_code="")
    client.force_login(owner)

    page = client.get(url(administration))

    problems = page.text.split('data-testid="profile-problems"', 1)[1].split("</div>", 1)[0]
    assert "Before you can draft invoices:" in problems
    assert '<a href="#id_city">City</a>: Enter the city' in problems
    assert '<a href="#id_postal_code">Postal code</a>' in problems and "IBAN" not in problems
    notes = page.text.split('data-testid="profile-notes"', 1)[1].split("</div>", 1)[0]
    assert "IBAN: Add an IBAN" in notes


def test_a_viewer_sees_the_problems_too_and_whom_to_ask(client, viewer, administration):
    complete_profile(administration, city="")
    client.force_login(viewer)

    page = client.get(url(administration))

    problems = page.text.split('data-testid="profile-problems"', 1)[1].split("</div>", 1)[0]
    assert "City: Enter the city" in problems and "Ask a manager of this administration" in problems
