"""What every signed-in page costs before its own work (issue 16): the user comes with their office
and Clearfacts credential in one query, and a person who stays on one administration's pages makes
no write at all (the session remembers the administration only when it changes)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ClearfactsCredential
from tests.factories import make_administration


def writes(captured) -> list[str]:
    return [
        query["sql"] for query in captured.captured_queries if not query["sql"].lstrip().upper().startswith("SELECT")
    ]


def looked_up_by_number(client, page: str) -> tuple[str, int]:
    """`page`'s HTML, and how many of its queries look an administration up by its number."""
    with CaptureQueriesContext(connection) as captured:
        html = client.get(page).text
    by_number = [query for query in captured.captured_queries if '"company_number" = ' in query["sql"]]
    return html, len(by_number)


def switcher_names(html: str) -> str:
    """The administration the switcher's button names (the current one)."""
    button = re.search(r'switcher-button"[^>]*>\s*<i[^>]*></i>\s*([^<]+?)\s*</button>', html)
    return button.group(1) if button else ""


@pytest.fixture
def second(office, owner):
    company = make_administration(office, "Brouwerij De Leeuw NV")
    owner.administration_accesses.create(administration=company, role="manager")
    return company


def test_reading_one_administrations_pages_again_writes_nothing(client, owner, administration, second):
    client.force_login(owner)
    pages = [f"/administrations/{administration.company_number}/{tab}" for tab in ("invoices/", "", "documents/")]
    client.get(pages[0])

    with CaptureQueriesContext(connection) as captured:
        for page in pages:
            assert client.get(page).status_code == 200

    assert writes(captured) == []
    assert client.session["current_administration"] == administration.company_number


def test_moving_to_another_administration_is_remembered_for_the_pages_of_none(client, owner, administration, second):
    client.force_login(owner)
    client.get(f"/administrations/{administration.company_number}/")

    client.get(f"/administrations/{second.company_number}/invoices/")

    assert client.session["current_administration"] == second.company_number
    html, lookups = looked_up_by_number(client, "/documents/")
    assert switcher_names(html) == "Brouwerij De Leeuw NV"
    assert lookups == 0  # it is in the switcher's list, read once for both


def test_the_current_administration_beyond_the_switchers_list_is_still_named(
    client, owner, administration, second, monkeypatch
):
    monkeypatch.setattr("portal.context_processors.SWITCHER_LIMIT", 1)  # lists the first by name only
    client.force_login(owner)
    first_by_name, last_by_name = sorted([administration, second], key=lambda company: company.name)
    client.get(f"/administrations/{last_by_name.company_number}/")

    html, lookups = looked_up_by_number(client, "/documents/")

    assert switcher_names(html) == last_by_name.name
    assert lookups == 1
    assert f"/administrations/{first_by_name.company_number}/" in html


def test_the_user_office_and_credential_are_one_query(client, owner):
    client.force_login(owner)
    client.get("/notifications/bell/", headers={"HX-Request": "true"})

    with CaptureQueriesContext(connection) as captured:
        assert client.get("/notifications/bell/", headers={"HX-Request": "true"}).status_code == 200

    sql = [query["sql"] for query in captured.captured_queries]
    reading_the_user = [query for query in sql if 'FROM "accounts_user"' in query]
    assert len(reading_the_user) == 1
    assert '"accounts_clearfactscredential"' in reading_the_user[0] and '"accounts_office"' in reading_the_user[0]
    assert not [query for query in sql if 'FROM "accounts_clearfactscredential"' in query]


def test_a_credential_refused_between_two_pages_asks_for_a_new_sign_in_at_the_next(client, owner, administration):
    client.force_login(owner)
    assert client.get("/documents/").status_code == 200

    ClearfactsCredential.objects.filter(user=owner).update(status=ClearfactsCredential.Status.INVALID)

    response = client.get("/documents/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in-again/")
