"""Fields neither the spec nor Clearfacts' public documentation shows are asked for apart, so a
Clearfacts without them refuses only the feature that needs them; and the drift command says so.

SANDBOX_CLEARFACTS_DOCUMENTED_ONLY makes the sandbox serve the SDL without its @assumed fields,
so the real validation error comes back over HTTP.
"""

import io
import re
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from graphql import parse, validate

from accounts.models import Membership, User
from clearfacts_app import client
from clearfacts_app.models import Administration, Document
from sandbox.clearfacts import graphql_resolvers
from sandbox.clearfacts.bearer import create_personal_token
from sandbox.clearfacts.graphql_resolvers import documented_only_schema
from sandbox.clearfacts.models import ClearfactsUser
from sandbox.models import RequestLog
from tests.factories import make_document
from tests.personas import BAKKERIJ, BROUWERIJ, PIETER, SOFIE
from tests.portal_site import sign_in
from tests.signed_in import in_english, sign_in_directly, uploaded_to_clearfacts

DOCUMENTED_ONLY = override_settings(SANDBOX_CLEARFACTS_DOCUMENTED_ONLY=True)
ROOT = Path(__file__).resolve().parents[2]


def assumed_in_sdl() -> set[str]:
    """`Type.field` and `Type` for everything the SDL marks @assumed."""
    marked = set()
    for definition in parse((ROOT / "clearfacts_app/graphql/schema.graphql").read_text()).definitions:
        directives = {d.name.value for d in getattr(definition, "directives", None) or ()}
        if "assumed" in directives:
            marked.add(definition.name.value)
        for field in getattr(definition, "fields", None) or ():
            if "assumed" in {d.name.value for d in field.directives or ()}:
                marked.add(f"{definition.name.value}.{field.name.value}")
    return marked


def test_every_assumed_field_is_marked_and_listed_in_the_decisions():
    decisions = (ROOT / "docs/decisions.md").read_text()

    marked = assumed_in_sdl()

    assert {
        "Associate.lastName",
        "Associate.type",
        "Associate.active",
        "Associate.language",
        "AssociateGroup.email",
        "BusinessPartner.vatNumber",
        "BusinessPartner.city",
        "Document.id",
        "Document.filename",
        "Document.amountOfPages",
        "ArchiveDocument",
    } <= marked
    assert [name for name in sorted(marked) if f"`{name}`" not in decisions] == []


def test_only_the_operations_kept_apart_ask_for_assumed_fields():
    operations = sorted((ROOT / "clearfacts_app/graphql/operations").glob("*.graphql"))

    refused = {}
    for path in operations:
        document = parse(path.read_text())
        errors = validate(documented_only_schema, document)
        if errors:
            refused[document.definitions[0].name.value] = errors[0].message

    assert set(refused) == client.ASSUMED_OPERATIONS
    assert set(client.FALLBACKS.values()).isdisjoint(refused)


def test_the_documented_only_sandbox_refuses_an_assumed_field_at_validation(portal):
    token = create_personal_token(user=ClearfactsUser.objects.get(username=SOFIE), name="t", scopes=["contact_read"])[1]
    query = f'{{ customers(companyNumber: "{BROUWERIJ}") {{ id name city }} }}'
    url = f"{portal.issuer}/graphql"

    with DOCUMENTED_ONLY:
        refused = requests.post(url, json={"query": query}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    accepted = requests.post(url, json={"query": query}, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "city" in refused.json()["errors"][0]["message"]
    assert accepted.status_code == 200 and accepted.json()["data"]["customers"][0]["city"]


def test_a_clearfacts_without_the_assumed_fields_costs_only_those_features(portal):
    with DOCUMENTED_ONLY:
        browser, response = sign_in(portal, SOFIE)
        in_english(browser, portal)
        customers = browser.get(f"{portal.url}/administrations/{BROUWERIJ}/customers/?page=2", timeout=30)
        associates = browser.get(f"{portal.url}/office/associates/", timeout=30)
        again = browser.get(f"{portal.url}/administrations/{BROUWERIJ}/customers/?refresh=1", timeout=30)

    assert response.status_code == 200 and Administration.objects.count() == 7
    # The role needs the assumed Associate.type: the first sign-in makes a member, nothing more.
    assert User.objects.get().membership.role == Membership.Role.MEMBER
    assert customers.status_code == 200 and "(142)" in customers.text and "K0142" in customers.text
    assert set(rows_column(customers.text, 3)) == {"—"}, "no cities: Clearfacts has none to give"
    assert "could not" not in customers.text and "refused" not in customers.text
    assert associates.status_code == 200 and "pieter.declercq@vandenberghe-partners.be" in associates.text
    assert again.status_code == 200 and "K0001" in again.text
    asked = list(RequestLog.objects.filter(operation="customers").order_by("pk").values_list("status", flat=True))
    assert asked == [400, 200, 200, 200, 200], "refused once, then the documented operation only"


def rows_column(html: str, column: int) -> list[str]:
    table = html.split('data-testid="customers"', 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row)[column] for row in re.findall(r"<tr>(.*?)</tr>", table)[1:]]


def test_with_the_assumed_fields_the_features_have_their_details(portal):
    browser = sign_in_directly(portal, SOFIE, language="en")

    customers = browser.get(f"{portal.url}/administrations/{BROUWERIJ}/customers/", timeout=30)

    assert User.objects.get().membership.role == Membership.Role.ADMIN
    cities = rows_column(customers.text, 3)
    assert len(cities) == 100 and "—" not in cities, "every customer's city"


def test_the_document_page_shows_the_documented_fields_without_the_assumed_ones(portal):
    with DOCUMENTED_ONLY:
        browser = sign_in_directly(portal, SOFIE, language="en")
        user = User.objects.get()
        sent = uploaded_to_clearfacts(user, BAKKERIJ)
        document = make_document(
            Administration.objects.get(company_number=BAKKERIJ),
            user,
            "invoice.pdf",
            status=Document.Status.SENT,
            clearfacts_uuid=sent["uuid"],
        )
        page = browser.get(f"{portal.url}/administrations/{BAKKERIJ}/documents/{document.pk}/", timeout=30)

    assert page.status_code == 200 and "Purchase" in page.text and "Unpaid" in page.text
    assert "could not" not in page.text and "refused" not in page.text.lower()


# --- manage.py clearfacts_schema_drift ---


def drift_command(*args) -> tuple[str, Exception | None]:
    out = io.StringIO()
    try:
        call_command("clearfacts_schema_drift", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


@pytest.fixture
def token(portal):
    sofie = ClearfactsUser.objects.get(username=SOFIE)
    return create_personal_token(user=sofie, name="drift", scopes=["read_administrations"])[1]


def test_the_drift_command_finds_none_against_the_sandbox(portal, token):
    out, error = drift_command("--token", token)

    assert error is None, out
    assert "ok     Statistics" in out and "DRIFT" not in out
    assert "All 18 operations fit" in out


def test_the_drift_command_lists_the_assumed_fields_a_clearfacts_lacks_and_fails(portal, token):
    with DOCUMENTED_ONLY:
        out, error = drift_command("--token", token)

    assert error is not None and "4 of 18 operations do not fit" in str(error)
    assert "DRIFT  CustomersWithDetails (assumed fields)" in out
    assert "Cannot query field 'vatNumber' on type 'BusinessPartner'" in out
    assert "Cannot query field 'type' on type 'Associate'" in out
    assert "Unknown type 'ArchiveDocument'" in out
    assert "DRIFT  Customers\n" not in out and "ok     Customers\n" in out


def test_the_drift_command_uses_a_stored_sign_in_and_reports_type_mismatches(portal, monkeypatch):
    sign_in_directly(portal, SOFIE)
    # A Clearfacts whose statistics periods are still String!, as the SDL once said.
    sdl = graphql_resolvers.SCHEMA_FILE.read_text().replace("startPeriod: Date!", "startPeriod: String!")
    monkeypatch.setattr(graphql_resolvers, "schema", graphql_resolvers.build_executable_schema(sdl=sdl))

    out, error = drift_command("--user", SOFIE)

    assert error is not None
    assert "DRIFT  Statistics" in out
    assert "Variable '$startPeriod' of type 'Date!' used in position expecting type 'String!'" in out
    assert "Query.getCompanyStatistics(startPeriod:) is String! in Clearfacts, Date! in the SDL" in out


def test_the_drift_command_sends_a_stored_sign_in_to_no_other_endpoint(portal):
    sign_in_directly(portal, SOFIE)
    before = RequestLog.objects.count()

    with pytest.raises(CommandError, match="--user only works with the configured"):
        call_command("clearfacts_schema_drift", "--user", SOFIE, "--url", f"{portal.url}/elsewhere/graphql")

    assert RequestLog.objects.count() == before


def test_the_drift_command_explains_an_unreachable_endpoint(db):
    with pytest.raises(CommandError, match="no introspection answer"):
        call_command("clearfacts_schema_drift", "--token", "x", "--url", "http://127.0.0.1:9/graphql")


def test_a_tab_whose_question_clearfacts_schema_refuses_says_so_in_words(portal, monkeypatch):
    browser = sign_in_directly(portal, SOFIE, language="en")
    sdl = graphql_resolvers.SCHEMA_FILE.read_text().replace("  creditNote: Boolean!\n", "")
    monkeypatch.setattr(graphql_resolvers, "schema", graphql_resolvers.build_executable_schema(sdl=sdl))

    page = browser.get(f"{portal.url}/administrations/{BAKKERIJ}/journals/", timeout=30)

    assert page.status_code == 200
    assert "Clearfacts no longer answers this question the way the portal asks it." in page.text
    assert "Cannot query field" not in page.text


def test_an_edit_without_the_assumed_details_leaves_role_activity_and_language_as_they_are(portal):
    with DOCUMENTED_ONLY:
        browser = sign_in_directly(portal, SOFIE, language="en", scope=f"{settings.OIDC_RP_SCOPES} associate_actions")
        Membership.objects.update(role=Membership.Role.ADMIN)  # the role itself needs Associate.type
        pieter = ClearfactsUser.objects.get(username=PIETER)
        before = (pieter.associate_type, pieter.active, pieter.locale)
        edit = f"{portal.url}/office/associates/{pieter.subject}/edit/"
        browser.get(edit, timeout=30)
        response = browser.post(
            edit,
            data={
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
                "first_name": "Piet",
                "last_name": "De Clercq",
                "email": pieter.email,
                "associate_type": "USER",
                "language": "en_GB",
            },
            headers={"Referer": edit},
            timeout=30,
        )

    assert response.status_code == 200
    pieter.refresh_from_db()
    assert pieter.first_name == "Piet" and (pieter.associate_type, pieter.active, pieter.locale) == before
