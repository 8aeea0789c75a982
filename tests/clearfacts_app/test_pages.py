"""Administration, office and associate pages, over a real socket against the sandbox."""

import html
import json
import re

import pytest
import requests
from django.conf import settings
from django.test import override_settings

from accounts.models import Membership, User
from clearfacts_app import client, selectors, services
from clearfacts_app.forms import AppInfoForm
from clearfacts_app.models import Administration
from sandbox.clearfacts.models import AppInfo, ClearfactsUser
from sandbox.instrument import fail_next
from sandbox.models import RequestLog
from tests.personas import AN, BAKKERIJ, BOULANGERIE, BROUWERIJ, MARC, PIETER, SOFIE
from tests.signed_in import sign_in_directly

HTMX = {"HX-Request": "true"}


def graphql_calls(operation: str | None = None) -> int:
    calls = RequestLog.objects.filter(service="clearfacts-graphql")
    return (calls.filter(operation=operation) if operation else calls).count()


def scopes_without(*removed):
    return " ".join(scope for scope in settings.OIDC_RP_SCOPES.split() if scope not in removed)


def get(browser, path, **kwargs):
    return browser.get(f"{browser.portal}{path}", timeout=30, **kwargs)


def post(browser, path, data):
    return browser.post(
        f"{browser.portal}{path}",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"], **data},
        headers={"Referer": f"{browser.portal}{path}"},
        timeout=30,
    )


def rows(html: str, testid: str) -> list[str]:
    table = html.split(f'data-testid="{testid}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], flags=re.S)


# --- administrations ---


def test_the_list_shows_the_administrations_with_belgian_numbers(sofie):
    page = get(sofie, "/administrations/")

    assert page.status_code == 200
    assert len(rows(page.text, "administration-table")) == 7
    assert "0652.381.715" in page.text and "Bakkerij Maes BV" in page.text


@pytest.mark.parametrize("query", ["bakkerij", "0652.381.715", "BE 0652381715", "381715"])
def test_the_list_searches_by_name_or_company_number(sofie, query):
    page = get(sofie, "/administrations/", params={"q": query})

    found = rows(page.text, "administration-table")
    assert len(found) == 1 and "Bakkerij Maes BV" in found[0]


def test_the_list_sorts_by_name_and_number(sofie):
    names = lambda page: re.findall(r'/">([^<]+)</a></td>', page.text)  # noqa: E731

    ascending = names(get(sofie, "/administrations/", params={"sort": "name"}))
    descending = names(get(sofie, "/administrations/", params={"sort": "-name"}))
    by_number = get(sofie, "/administrations/", params={"sort": "number"}).text

    assert ascending == sorted(ascending) and descending == ascending[::-1]
    numbers = re.findall(r'font-monospace text-nowrap">([0-9.]+)<', by_number)
    assert numbers == sorted(numbers)


def test_the_list_of_a_user_without_administrations_explains_why(portal):
    ClearfactsUser.objects.get(username=AN).companies.clear()
    browser = sign_in_directly(portal, AN)

    page = browser.get(f"{portal.url}/administrations/", timeout=30)

    assert "Clearfacts heeft u nog geen toegang gegeven" in page.text  # An reads Dutch


def test_the_detail_page_shows_the_administration_without_calling_clearfacts(sofie):
    calls = graphql_calls()

    page = get(sofie, f"/administrations/{BAKKERIJ}/")

    assert page.status_code == 200
    assert "Bakkerij Maes BV" in page.text and "0652.381.715" in page.text
    assert "Sint-Pietersnieuwstraat 12, 9000 Gent" in page.text and "info@vandenberghe-partners.be" in page.text
    inbox = page.text.split('data-testid="purchase-inbox"', 1)[1].split("</dd>", 1)[0]
    assert f'data-copy="aankoop-{BAKKERIJ}@vandenberghe.clearfacts.be"' in inbox
    assert f'data-copy="achat-{BAKKERIJ}@vandenberghe.clearfacts.be"' in inbox
    assert graphql_calls() == calls, "the tabs load on demand"


@pytest.mark.parametrize("path", ["", "journals/", "customers/", "archive/", "statistics/", "app-info/"])
def test_another_offices_administration_is_404_on_every_page(sofie, path):
    assert get(sofie, f"/administrations/{BOULANGERIE}/{path}").status_code == 404


def test_the_journals_tab_is_cached_and_the_refresh_button_asks_again(sofie):
    first = get(sofie, f"/administrations/{BAKKERIJ}/journals/", headers=HTMX)
    second = get(sofie, f"/administrations/{BAKKERIJ}/journals/", headers=HTMX)
    refreshed = get(sofie, f"/administrations/{BAKKERIJ}/journals/?refresh=1", headers=HTMX)

    assert first.text.lstrip().startswith('<section id="tabs"'), "HTMX gets the tabs partial, not the page"
    assert "ClearFacts Aankopen" in first.text and "ClearFacts Verkopen creditnota" in second.text
    assert graphql_calls("journals") == 2 and "ClearFacts Aankopen" in refreshed.text


def test_a_tab_opened_directly_renders_the_whole_page(sofie):
    page = get(sofie, f"/administrations/{BAKKERIJ}/journals/")

    assert "<!doctype html>" in page.text and "ClearFacts Aankopen" in page.text
    assert 'data-testid="tab-journals" aria-selected="true"' in page.text


def test_a_history_restore_gets_the_whole_page_and_tab_answers_vary_on_hx_request(sofie):
    tab = get(sofie, f"/administrations/{BAKKERIJ}/journals/", headers=HTMX)
    restored = get(
        sofie, f"/administrations/{BAKKERIJ}/journals/", headers=HTMX | {"HX-History-Restore-Request": "true"}
    )

    assert "<!doctype html>" not in tab.text and "HX-Request" in tab.headers["Vary"]
    assert "<!doctype html>" in restored.text and "Main navigation" in restored.text
    assert "ClearFacts Aankopen" in restored.text and "HX-Request" in restored.headers["Vary"]


def test_tabs_and_sortable_headers_say_their_state_to_assistive_technology(sofie):
    detail = get(sofie, f"/administrations/{BAKKERIJ}/journals/").text
    listed = get(sofie, "/administrations/", params={"sort": "-name"}).text

    tabs = re.findall(r'<a class="nav-link[^"]*" role="tab"[^>]*>', detail)
    selected = [re.search(r'aria-selected="(\w+)"', tab)[1] for tab in tabs]
    assert selected[:3] == ["false", "false", "true"]  # Documents, Invoices, Journals, ...
    assert selected.count("true") == 1 and len(selected) >= 6
    assert 'role="tabpanel" aria-labelledby="tab-journals"' in detail and 'id="tab-journals"' in detail
    journals = detail.split('data-testid="journals"', 1)[1]
    assert '<span class="visually-hidden">yes</span>' in journals and "aria-label" not in journals.split("</table>")[0]
    headers = re.findall(r'<th scope="col"[^>]*aria-sort="(\w+)">\s*<a[^>]*>([^<]+)', listed)
    assert [(label.strip(), sort) for sort, label in headers] == [
        ("Name", "descending"),
        ("Company number", "none"),
        ("Documents", "none"),
    ]


def test_customers_are_paged_over_clearfacts_100_per_request(sofie):
    first = get(sofie, f"/administrations/{BROUWERIJ}/customers/", headers=HTMX)
    second = get(sofie, f"/administrations/{BROUWERIJ}/customers/?page=2", headers=HTMX)
    third = get(sofie, f"/administrations/{BROUWERIJ}/customers/?page=3", headers=HTMX)

    assert len(rows(first.text, "customers")) == 100 and 'data-testid="customers-next"' in first.text
    assert len(rows(second.text, "customers")) == 42 and 'data-testid="customers-next"' not in second.text
    assert "K0101" in second.text and "K0100" not in second.text
    assert rows(third.text, "customers") == rows(second.text, "customers"), "past the end: the last page"
    log = RequestLog.objects.filter(operation="customers").count()
    assert log == 2, "each of Clearfacts' pages read once, to count them, then cached"


def page_label(page) -> str:
    return re.search(r'data-testid="customers-page">([^<]+)<', page.text)[1]


def total_label(page) -> str:
    return re.search(r'data-testid="customers-total">([^<]+)<', page.text)[1]


def test_customer_pages_say_the_total_and_a_page_past_the_end_shows_the_last(sofie):
    first = get(sofie, f"/administrations/{BROUWERIJ}/customers/", headers=HTMX)
    past = get(sofie, f"/administrations/{BROUWERIJ}/customers/?page=3", headers=HTMX)
    searched = get(sofie, f"/administrations/{BROUWERIJ}/customers/", params={"q": "(1", "page": 9}, headers=HTMX)

    assert (page_label(first), total_label(first)) == ("Page 1 of 2", "142 customers in Clearfacts.")
    assert (page_label(past), total_label(past)) == ("Page 2 of 2", "142 customers in Clearfacts.")
    assert "has no customers" not in past.text and len(rows(past.text, "customers")) == 42
    assert (page_label(searched), total_label(searched)) == ("Page 3 of 3", "54 customers match.")
    assert len(rows(searched.text, "customers")) == 4 and "No customer matches" not in searched.text


def test_customers_beyond_what_is_counted_are_still_paged_and_the_total_says_more_than(sofie, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_MAX_CHUNKS", 1)

    first = get(sofie, f"/administrations/{BROUWERIJ}/customers/", headers=HTMX)
    second = get(sofie, f"/administrations/{BROUWERIJ}/customers/?page=2", headers=HTMX)

    assert (page_label(first), total_label(first)) == ("Page 1", "More than 100 customers in Clearfacts.")
    assert 'data-testid="customers-next"' in first.text and "Searched the first" not in first.text
    assert len(rows(second.text, "customers")) == 42 and "K0101" in second.text


def test_customer_search_finds_matches_across_clearfacts_chunks(sofie):
    found = get(sofie, f"/administrations/{BROUWERIJ}/customers/", params={"q": "taverne"}, headers=HTMX)

    matches = rows(found.text, "customers")
    assert len(matches) == 21 and all("Taverne" in match for match in matches)
    assert "K0141" in found.text, "a match from Clearfacts' second chunk"
    assert 'data-testid="customers-next"' not in found.text
    assert RequestLog.objects.filter(operation="customers").count() == 2, "both chunks, each read once"
    assert "Searched the first" not in found.text, "every customer was searched"


def test_a_search_reads_a_limited_number_of_chunks_and_says_so(sofie, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_MAX_CHUNKS", 1)

    found = get(sofie, f"/administrations/{BROUWERIJ}/customers/", params={"q": "taverne"}, headers=HTMX)

    matches = rows(found.text, "customers")
    assert matches and all("Taverne" in match for match in matches) and "K0141" not in found.text
    limited = found.text.split('data-testid="customers-search-limited"', 1)[1].split("</div>", 1)[0]
    assert "Searched the first 100 customers; refine your search" in limited
    assert RequestLog.objects.filter(operation="customers").count() == 1


def test_customer_search_results_are_paged(sofie):
    # "(1" matches customers (1), (10)-(19) and (100)-(142): 54 of them.
    pages = [
        get(sofie, f"/administrations/{BROUWERIJ}/customers/", params={"q": "(1", "page": page}, headers=HTMX)
        for page in (1, 2, 3)
    ]

    assert [len(rows(page.text, "customers")) for page in pages] == [25, 25, 4]
    assert ['data-testid="customers-next"' in page.text for page in pages] == [True, True, False]
    assert RequestLog.objects.filter(operation="customers").count() == 2, "each chunk read once, then cached"
    nothing = get(sofie, f"/administrations/{BROUWERIJ}/customers/", params={"q": "no such café"}, headers=HTMX)
    assert "No customer matches" in nothing.text


def test_the_archive_tab_lists_various_and_permanent_categories(sofie):
    page = get(sofie, f"/administrations/{BAKKERIJ}/archive/", headers=HTMX)

    assert "Beleggingen" in page.text and "Huurovereenkomst" in page.text


def test_statistics_show_a_chart_and_a_table_for_the_chosen_period_in_one_call(sofie):
    page = get(
        sofie, f"/administrations/{BAKKERIJ}/statistics/", params={"start": "2025-01", "end": "2025-06"}, headers=HTMX
    )

    table = rows(page.text, "statistics-table")
    assert [re.search(r"<td>([0-9/]+)</td>", row)[1] for row in table] == [f"{m:02d}/2025" for m in range(1, 7)]
    chart = json.loads(html.unescape(re.search(r'data-statistics-chart="([^"]+)"', page.text)[1]))
    assert chart["labels"] == [f"{m:02d}/2025" for m in range(1, 7)] and len(chart["air"]) == 6
    assert graphql_calls("getCompanyStatistics,getCompanyStatistics") == 1, "both kinds in one request"


def test_statistics_default_to_the_last_twelve_months(sofie):
    page = get(sofie, f"/administrations/{BAKKERIJ}/statistics/", headers=HTMX)

    assert len(rows(page.text, "statistics-table")) == 12


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2025-06", "2025-01", "The end must not be before the start."),
        ("2020-01", "2025-01", "Choose at most 36"),
        ("june", "2025-01", "Enter a valid date"),
    ],
)
def test_a_bad_statistics_period_is_explained_without_calling_clearfacts(sofie, start, end, message):
    page = get(sofie, f"/administrations/{BAKKERIJ}/statistics/", params={"start": start, "end": end}, headers=HTMX)

    assert page.status_code == 200 and message in page.text
    assert graphql_calls() == 3  # only the sign-in's sync


def test_a_missing_scope_is_explained_in_the_tab_without_calling_clearfacts(portal):
    browser = sign_in_directly(portal, SOFIE, language="en", scope=scopes_without("journal_read", "statistics"))
    calls = graphql_calls()

    journals = browser.get(f"{portal.url}/administrations/{BAKKERIJ}/journals/", headers=HTMX, timeout=30)
    statistics = browser.get(f"{portal.url}/administrations/{BAKKERIJ}/statistics/", headers=HTMX, timeout=30)

    assert journals.status_code == 200 and "(scope journal_read)" in journals.text
    assert "(scope statistics)" in statistics.text
    assert graphql_calls() == calls


@pytest.mark.parametrize("path", ["journals/", "customers/", "archive/", "statistics/"])
def test_clearfacts_down_is_a_clear_message_in_the_tab(sofie, path):
    fail_next("clearfacts-graphql", status=503)

    page = get(sofie, f"/administrations/{BAKKERIJ}/{path}", headers=HTMX)

    assert page.status_code == 200
    assert 'data-testid="tab-problem"' in page.text and "could not be reached" in page.text


def test_clearfacts_unreachable_is_a_clear_message_too(sofie):
    with override_settings(CLEARFACTS_GRAPHQL_URL="http://127.0.0.1:9/graphql"):
        page = get(sofie, f"/administrations/{BAKKERIJ}/journals/")

    assert page.status_code == 200 and "could not be reached" in page.text


# --- office and associates ---


def test_the_office_page_shows_the_accountant(sofie):
    page = get(sofie, "/office/")

    details = page.text.split('data-testid="accountant"', 1)[1]
    assert "Boekhoudkantoor Vandenberghe &amp; Partners" in details and "info@vandenberghe-partners.be" in details
    assert "0471.234.512" in details and "Kortrijksesteenweg 1024" in details


@pytest.mark.parametrize(("language", "country"), [("en", "Belgium"), ("nl", "België"), ("fr", "Belgique")])
def test_addresses_name_the_country_in_the_readers_language(sofie, portal, language, country):
    sofie.post(
        f"{portal.url}/i18n/setlang/",
        data={"language": language, "next": "/", "csrfmiddlewaretoken": sofie.cookies["csrftoken"]},
        timeout=30,
    )
    administration = Administration.objects.filter(country_iso2="BE").first()

    office = get(sofie, "/office/").text.split('data-testid="accountant"', 1)[1]
    detail = get(sofie, f"/administrations/{administration.company_number}/").text

    assert f"Kortrijksesteenweg 1024, 9000 Gent, {country}" in office
    assert f", {country}</dd>" in detail


def test_the_associates_page_lists_them_with_groups_but_no_forms_without_associate_actions(portal):
    sofie = sign_in_directly(portal, SOFIE, language="en", scope=scopes_without("associate_actions"))
    page = get(sofie, "/office/associates/")

    listed = rows(page.text, "associates")
    assert len(listed) == 2 and any("Dossierbeheerders" in row for row in listed)
    assert "/office/associates/add/" not in page.text and "/edit/" not in page.text
    assert "(scope associate_actions)" in get(sofie, "/office/associates/add/").text


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_a_client_user_sees_no_office_page_and_no_office_menu(portal, language):
    browser = sign_in_directly(portal, AN, language=language)  # a client of the office, not one of its associates

    for url in ("/office/", "/office/associates/"):
        page = get(browser, url)
        assert page.status_code == 404, url
        assert "Only associates of the accounting office may do this." not in page.text, "Clearfacts' English"
    assert 'href="/office/"' not in get(browser, "/").text


def test_without_associate_read_the_associates_are_hidden_and_explained(portal):
    # Known as an associate from an earlier sign-in: without the scope Clearfacts cannot say otherwise,
    # so she stays one (a person never seen before starts as a client user: test_roles_tasks_and_sync).
    sign_in_directly(portal, SOFIE, language="en")
    browser = sign_in_directly(portal, SOFIE, language="en", scope=scopes_without("associate_read"))

    office = browser.get(f"{portal.url}/office/", timeout=30)
    associates = browser.get(f"{portal.url}/office/associates/", timeout=30)

    assert "/office/associates/" not in office.text.split("</nav>", 1)[1]
    assert "(scope associate_read)" in associates.text


ASSOCIATE = {
    "first_name": "Nina",
    "last_name": "Wouters",
    "email": "nina@vandenberghe-partners.be",
    "associate_type": "USER",
    "language": "nl_BE",
    "active": "on",
}


def test_adding_an_associate_shows_the_generated_password_once_and_keeps_it_nowhere(manager):
    form = get(manager, "/office/associates/add/")
    group = re.search(r'name="groups" value="([0-9a-f-]+)"', form.text)[1]

    added = post(manager, "/office/associates/add/", ASSOCIATE | {"groups": group})

    password = re.search(r'data-testid="generated-password">([^<]+)<', added.text)[1]
    assert added.headers["Cache-Control"].startswith("max-age=0") and "no-store" in added.headers["Cache-Control"]
    created = ClearfactsUser.objects.get(username="nina@vandenberghe-partners.be")
    assert created.check_password(password) and list(created.associate_groups.values_list("id", flat=True))
    listed = get(manager, "/office/associates/")
    assert "nina@vandenberghe-partners.be" in listed.text and password not in listed.text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not an address"}, "email", "Enter a valid email address."),
        ({"email": AN}, "email", "A user with this e-mail address already exists."),
        ({"first_name": ""}, "first_name", "This field is required."),
        ({"associate_type": "BOSS"}, "associate_type", "Select a valid choice."),
    ],
)
def test_a_bad_associate_gets_its_errors_per_field_and_nothing_is_created(manager, changes, field, message):
    response = post(manager, "/office/associates/add/", ASSOCIATE | changes)

    assert f'data-field-error="{field}">{message}' in response.text
    assert not ClearfactsUser.objects.filter(first_name="Nina").exists()


def test_editing_an_associate_saves_it_in_clearfacts(manager):
    pieter = ClearfactsUser.objects.get(username="pieter.declercq@vandenberghe-partners.be")
    form = get(manager, f"/office/associates/{pieter.subject}/edit/")
    assert 'value="Pieter"' in form.text

    response = post(
        manager,
        f"/office/associates/{pieter.subject}/edit/",
        ASSOCIATE | {"first_name": "Piet", "last_name": "De Clercq", "email": pieter.email},
    )

    assert response.url.endswith("/office/associates/")
    pieter.refresh_from_db()
    assert pieter.first_name == "Piet"
    assert "Piet De Clercq" in response.text


def test_an_office_administrator_gets_the_add_and_edit_buttons(manager):
    page = get(manager, "/office/associates/")

    assert 'href="/office/associates/add/"' in page.text
    assert page.text.count("/edit/") == len(rows(page.text, "associates")) == 2


@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.VIEWER])
def test_only_office_administrators_may_add_or_edit_associates(portal, role):
    colleague = sign_in_directly(portal, PIETER, language="en", scope=f"{settings.OIDC_RP_SCOPES} associate_actions")
    Membership.objects.filter(user__email=PIETER).update(role=role)
    sofie = ClearfactsUser.objects.get(username=SOFIE)
    calls = graphql_calls()

    listed = get(colleague, "/office/associates/")
    edit = f"/office/associates/{sofie.subject}/edit/"

    assert len(rows(listed.text, "associates")) == 2, "the list itself is for everyone"
    assert "/office/associates/add/" not in listed.text and "/edit/" not in listed.text
    assert get(colleague, "/office/associates/add/").status_code == 403
    assert post(colleague, "/office/associates/add/", ASSOCIATE).status_code == 403
    assert get(colleague, edit).status_code == 403
    assert post(colleague, edit, ASSOCIATE | {"first_name": "Sofietje", "email": SOFIE}).status_code == 403
    assert graphql_calls() == calls + 1, "only the list asked Clearfacts"
    assert not ClearfactsUser.objects.filter(first_name__in=["Nina", "Sofietje"]).exists()


def test_another_offices_associate_is_404(manager):
    marc = ClearfactsUser.objects.get(username=MARC)

    assert get(manager, f"/office/associates/{marc.subject}/edit/").status_code == 404


# --- app info ---


def test_an_office_administrator_updates_the_app_info_with_a_preview(sofie):
    form = get(sofie, f"/administrations/{BAKKERIJ}/app-info/")
    assert 'data-testid="badge-preview"' in form.text

    response = post(
        sofie,
        f"/administrations/{BAKKERIJ}/app-info/",
        {
            "image_url": "https://example.be/logo.png",
            "email": "support@example.be",
            "badge_text": "NEW",
            "badge_text_color": "#d5a855",
            "badge_color": "red",
            "icon_type": "trophy",
            "icon_color": "yellow",
        },
    )

    assert 'data-testid="app-info-saved"' in response.text
    info = AppInfo.objects.get(company__company_number=BAKKERIJ)
    assert (info.badge_text, info.badge_color, info.icon_type, info.email) == (
        "NEW",
        "red",
        "trophy",
        "support@example.be",
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"badge_color": "red; background: url(x)"}, "badge_color"),
        ({"image_url": "not a url"}, "image_url"),
        ({"icon_type": "<script>"}, "icon_type"),
        ({"email": "nope"}, "email"),
    ],
)
def test_bad_app_info_is_refused_per_field_and_not_sent(sofie, data, field):
    calls = graphql_calls()

    response = post(sofie, f"/administrations/{BAKKERIJ}/app-info/", data)

    assert f'data-field-error="{field}"' in response.text
    assert graphql_calls() == calls and not AppInfo.objects.exists()


def test_blank_app_info_fields_leave_what_clearfacts_has(sofie):
    post(
        sofie,
        f"/administrations/{BAKKERIJ}/app-info/",
        {"badge_text": "NEW", "badge_color": "red", "icon_type": "trophy", "icon_color": "yellow"},
    )

    response = post(sofie, f"/administrations/{BAKKERIJ}/app-info/", {"email": "support@example.be"})

    assert 'data-testid="app-info-saved"' in response.text
    info = AppInfo.objects.get(company__company_number=BAKKERIJ)
    assert (info.email, info.badge_text, info.badge_color, info.icon_type, info.icon_color) == (
        "support@example.be",
        "NEW",
        "red",
        "trophy",
        "yellow",
    ), "blank fields are sent as null, not as empty strings that erase them"


def test_clearfacts_refusing_the_e_mail_address_is_shown_on_the_e_mail_field(sofie):
    # The form already checks addresses as Clearfacts does, so the portal's own check is skipped here.
    user = User.objects.get(email=SOFIE)
    administration = Administration.objects.get(company_number=BAKKERIJ)
    with pytest.raises(client.Refused) as refused:
        services.app_info_update(
            user=user, administration=administration, image_url="", email="not an address", badge={}, icon={}
        )
    form = AppInfoForm({"email": "support@example.be"})
    form.is_valid()

    form.add_clearfacts_error(refused.value.details.get("field"), refused.value.message)

    assert form.errors["email"] == ["emailaddress is not a valid e-mail address."]


def test_an_empty_app_info_form_is_refused(sofie):
    response = post(sofie, f"/administrations/{BAKKERIJ}/app-info/", {})

    assert "Fill in at least one field." in response.text


def test_only_office_administrators_see_the_app_info_form(portal):
    browser = sign_in_directly(portal, AN)  # a client user: the office's pages do not exist for them

    response = browser.get(f"{portal.url}/administrations/{BAKKERIJ}/app-info/", timeout=30)

    assert response.status_code == 404


def test_anonymous_htmx_tab_requests_get_a_client_redirect(portal):
    response = requests.get(
        f"{portal.url}/administrations/{BAKKERIJ}/journals/",
        headers=HTMX | {"HX-Current-URL": f"{portal.url}/administrations/{BAKKERIJ}/"},
        timeout=30,
        allow_redirects=False,
    )

    assert response.headers["HX-Redirect"] == f"/accounts/sign-in/?next=%2Fadministrations%2F{BAKKERIJ}%2F"
