"""The simulated Clearfacts GraphQL API, over HTTP: every example request of the spec, and the errors.

The spec's examples use the company number 0123123123, which is not a valid Belgian number;
they are sent here with the seeded companies' numbers instead, and otherwise verbatim.
"""

import json
import uuid

import pytest
import requests
from authlib.common.security import generate_token
from django.conf import settings

from sandbox.clearfacts.models import (
    AccessToken,
    AppInfo,
    AssociateGroup,
    ClearfactsUser,
    Document,
    OAuthClient,
    token_hash,
)
from sandbox.models import RequestLog
from tests import samples
from tests.sandbox.conftest import (
    ASSOCIATE,
    BAKKERIJ,
    BOULANGERIE,
    BROUWERIJ,
    CLIENT_AN,
    OTHER_OFFICE,
    TEST_CLIENT_ID,
    graphql,
    personal_token,
)

ALL_SCOPES = (
    "accountant",
    "statistics",
    "read_administrations",
    "associate_read",
    "associate_actions",
    "journal_read",
    "contact_read",
    "upload_document",
    "archive",
)


@pytest.fixture
def token(sandbox):
    return personal_token(ASSOCIATE, *ALL_SCOPES)


def multipart(sandbox, token, query, variables=None, file=None):
    """The spec's own upload format: form fields query, variables (JSON) and file."""
    fields = {"query": (None, query), "variables": (None, json.dumps(variables or {}))}
    if file is not None:
        fields["file"] = file
    return requests.post(sandbox.graphql_url, files=fields, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def data(response):
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def error_code(response):
    body = response.json()
    return body["errors"][0]["extensions"]["code"]


# --- the spec's examples ---


def test_query_accountant(sandbox, token):
    query = """query accountant {
        accountant { name, companyNumber, email, address { streetAddress, country { iso2, name } } }
    }"""
    assert data(graphql(sandbox, token, query)) == {
        "accountant": {
            "name": "Boekhoudkantoor Vandenberghe & Partners",
            "companyNumber": "0471234512",
            "email": "info@vandenberghe-partners.be",
            "address": {
                "streetAddress": "Kortrijksesteenweg 1024, 9000 Gent",
                "country": {"iso2": "BE", "name": "Belgium"},
            },
        }
    }


def test_query_accountant_as_application_graphql(sandbox, token):
    response = requests.post(
        sandbox.graphql_url,
        data="query accountant { accountant { name } }",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/graphql"},
        timeout=10,
    )
    assert data(response) == {"accountant": {"name": "Boekhoudkantoor Vandenberghe & Partners"}}


def test_query_associates(sandbox, token):
    associates = data(graphql(sandbox, token, "query associates { associates { id, email } }"))["associates"]

    emails = {a["email"] for a in associates}
    assert emails == {ASSOCIATE, "pieter.declercq@vandenberghe-partners.be"}
    assert all(uuid.UUID(a["id"]) for a in associates)


def test_query_associate_groups(sandbox, token):
    groups = data(graphql(sandbox, token, "query groups { associateGroups { id, name } }"))["associateGroups"]

    assert sorted(g["name"] for g in groups) == ["Dossierbeheerders", "Loonadministratie"]


def test_mutation_add_associate_returns_the_password_once(sandbox, token):
    group = AssociateGroup.objects.get(name="Dossierbeheerders", accountant__company_number="0471234512")
    query = """mutation add ($associate: AddAssociateArgument!) {
        addAssociate (associate: $associate) { id, associateGroups { id, name }, plainPassword }
    }"""
    variables = {
        "associate": {
            "firstName": "Test",
            "lastName": "Associate",
            "email": "associate@acme.be",
            "type": "ADMIN",
            "associateGroups": [{"id": str(group.id)}],
            "active": True,
            "language": "nl_BE",
            "sendActivationMail": False,
        }
    }

    added = data(multipart(sandbox, token, query, variables))["addAssociate"]

    assert added["associateGroups"] == [{"id": str(group.id), "name": "Dossierbeheerders"}]
    assert len(added["plainPassword"]) >= 12
    created = ClearfactsUser.objects.get(subject=added["id"])
    assert created.check_password(added["plainPassword"]) and added["plainPassword"] not in created.password
    again = data(graphql(sandbox, token, "{ associates { email plainPassword } }"))["associates"]
    assert {"email": "associate@acme.be", "plainPassword": None} in again


def test_mutation_edit_associate(sandbox, token):
    associate = ClearfactsUser.objects.get(username="pieter.declercq@vandenberghe-partners.be")
    query = """mutation edit ($id: ID!, $associate: EditAssociateArgument!) {
        editAssociate (id: $id, associate: $associate) { id, firstName }
    }"""

    edited = data(
        multipart(sandbox, token, query, {"id": str(associate.subject), "associate": {"firstName": "Updated"}})
    )

    assert edited == {"editAssociate": {"id": str(associate.subject), "firstName": "Updated"}}
    associate.refresh_from_db()
    assert (associate.first_name, associate.last_name) == ("Updated", "De Clercq")


ADMINISTRATION_FIELDS = """name, companyNumber, accountManager, emails { type, emailAddress },
    address { streetAddress, country { iso2, name } }"""


def test_query_administrations(sandbox, token):
    query = f"query admins {{ administrations {{ {ADMINISTRATION_FIELDS} }} }}"

    administrations = data(graphql(sandbox, token, query))["administrations"]

    assert len(administrations) == 7
    bakkerij = next(a for a in administrations if a["companyNumber"] == BAKKERIJ)
    assert bakkerij == {
        "name": "Bakkerij Maes BV",
        "companyNumber": BAKKERIJ,
        "accountManager": "info@vandenberghe-partners.be",
        "emails": [
            {"type": "purchase", "emailAddress": f"aankoop-{BAKKERIJ}@vandenberghe.clearfacts.be"},
            {"type": "purchase", "emailAddress": f"achat-{BAKKERIJ}@vandenberghe.clearfacts.be"},
        ],
        "address": {
            "streetAddress": "Sint-Pietersnieuwstraat 12, 9000 Gent",
            "country": {"iso2": "BE", "name": "Belgium"},
        },
    }


def test_query_administration(sandbox, token):
    query = f'query admin {{ administration (companyNumber: "{BAKKERIJ}") {{ {ADMINISTRATION_FIELDS} }} }}'

    assert data(graphql(sandbox, token, query))["administration"]["name"] == "Bakkerij Maes BV"


UPLOAD = """mutation upload ($vatNumber: String!, $fileName: String!, $invoiceType: InvoiceTypeArgument!) {
    uploadFile (vatnumber: $vatNumber, filename: $fileName, invoicetype: $invoiceType) { uuid, amountOfPages }
}"""


def upload(sandbox, token, content, filename="test_upload.pdf", company=BAKKERIJ, content_type="application/pdf"):
    variables = {"vatNumber": company, "fileName": filename, "invoiceType": "PURCHASE"}
    return multipart(sandbox, token, UPLOAD, variables, file=(filename, content, content_type))


def test_mutation_upload_file_stores_the_file_with_its_real_page_count(sandbox, token):
    content = samples.pdf(pages=3)

    uploaded = data(upload(sandbox, token, content))["uploadFile"]

    assert uploaded["amountOfPages"] == 3
    stored = Document.objects.get(uuid=uploaded["uuid"])
    assert stored.company.company_number == BAKKERIJ
    assert (stored.destination, stored.invoice_type, stored.filename) == ("inbox", "PURCHASE", "test_upload.pdf")
    assert stored.file.read() == content


def test_query_document_returns_the_uploaded_document(sandbox, token):
    uploaded = data(upload(sandbox, token, samples.pdf()))["uploadFile"]
    query = f'query doc {{ document (id: "{uploaded["uuid"]}") {{ date, ... on InvoiceDocument {{ type, paymentState }} }} }}'

    document = data(graphql(sandbox, token, query))["document"]

    assert document["type"] == "PURCHASE" and document["paymentState"] == "UNPAID"
    assert len(document["date"]) == 10


def test_query_archive_categories(sandbox, token):
    query = f'query categories {{ archiveCategories (vatnumber: "{BAKKERIJ}") {{ various {{ id, name }}, permanent {{ id, name }} }} }}'

    categories = data(graphql(sandbox, token, query))["archiveCategories"]

    assert {c["name"] for c in categories["various"]} == {
        "Beleggingen",
        "Verzekeringen",
        "Leasingcontracten",
        "Subsidies",
    }
    assert {c["name"] for c in categories["permanent"]} == {"Huurovereenkomst", "Statuten", "Arbeidsreglement"}


ARCHIVE_UPLOAD = """mutation upload ($vatNumber: String!, $fileName: String!, $type: VariousType!, $category: String!) {
    uploadArchiveFile (vatnumber: $vatNumber, filename: $fileName, type: $type, category: $category) { uuid, amountOfPages }
}"""


def test_mutation_upload_archive_file_with_a_category(sandbox, token):
    query = f'{{ archiveCategories (vatnumber: "{BAKKERIJ}") {{ various {{ id name }} }} }}'
    category = data(graphql(sandbox, token, query))["archiveCategories"]["various"][0]
    variables = {"vatNumber": BAKKERIJ, "fileName": "test_upload.pdf", "type": "VARIOUS", "category": category["id"]}

    uploaded = data(multipart(sandbox, token, ARCHIVE_UPLOAD, variables, ("test_upload.pdf", samples.pdf(2))))

    stored = Document.objects.get(uuid=uploaded["uploadArchiveFile"]["uuid"])
    assert (stored.destination, stored.archive_type, str(stored.category.id)) == ("archive", "VARIOUS", category["id"])
    assert uploaded["uploadArchiveFile"]["amountOfPages"] == 2
    doc = data(
        graphql(
            sandbox,
            token,
            f'{{ document(id: "{stored.uuid}") {{ ... on ArchiveDocument {{ archiveType category {{ name }} }} }} }}',
        )
    )
    assert doc["document"] == {"archiveType": "VARIOUS", "category": {"name": category["name"]}}


def test_query_journals(sandbox, token):
    query = f'query journals {{ journals (companyNumber: "{BAKKERIJ}") {{ id, name, creditNote }} }}'

    journals = data(graphql(sandbox, token, query))["journals"]

    assert {"id": "CFAK", "name": "ClearFacts Aankopen", "creditNote": False} in journals
    assert {j["id"] for j in journals if j["creditNote"]} == {"CFAC", "CFVC"}


def test_query_customers_pages_by_100_with_offset(sandbox, token):
    def page(offset):
        query = f'query customers {{ customers (companyNumber: "{BROUWERIJ}", offset: {offset}) {{ id, name }} }}'
        return data(graphql(sandbox, token, query))["customers"]

    first, second, third = page(0), page(100), page(200)

    assert (len(first), len(second), len(third)) == (100, 42, 0)
    ids = [c["id"] for c in first + second]
    assert len(set(ids)) == 142 and ids == sorted(ids)
    query = f'query customers {{ customers (companyNumber: "{BROUWERIJ}") {{ id, name }} }}'
    assert data(graphql(sandbox, token, query))["customers"] == first


def test_query_company_statistics_one_item_per_month(sandbox, token):
    query = """query statistics {
        getCompanyStatistics (type: "AIR", startPeriod: "2025-01-01", endPeriod: "2025-12-31") {
            companyNumber, items { period, value }
        }
    }"""

    statistics = data(graphql(sandbox, token, query))["getCompanyStatistics"]

    assert len(statistics) == 7
    assert all(s["companyNumber"].startswith("BE") and len(s["companyNumber"]) == 12 for s in statistics)
    periods = [item["period"] for item in statistics[0]["items"]]
    assert periods == [f"{month:02d}/2025" for month in range(1, 13)]
    assert all(isinstance(item["value"], int) for s in statistics for item in s["items"])


def test_processing_statistics_filter_by_company_invoice_type_and_worklist(sandbox, token):
    def values(**filters):
        arguments = ", ".join(f"{k}: {json.dumps(v)}" for k, v in filters.items())
        query = f'{{ getCompanyStatistics(type: "processing", startPeriod: "2026-01-01", endPeriod: "2026-06-30", {arguments}) {{ companyNumber items {{ value }} }} }}'
        result = data(graphql(sandbox, token, query))["getCompanyStatistics"]
        assert [r["companyNumber"] for r in result] == [f"BE{BAKKERIJ}"]
        return [item["value"] for item in result[0]["items"]]

    total = values(companyNumber=f"BE{BAKKERIJ}")
    sale, purchase = (
        values(companyNumber=f"BE{BAKKERIJ}", invoiceType="SALE"),
        values(companyNumber=f"BE{BAKKERIJ}", invoiceType="PURCHASE"),
    )
    assert len(total) == 6 and total == [s + p for s, p in zip(sale, purchase, strict=True)]
    on_worklist = values(companyNumber=f"BE{BAKKERIJ}", worklist=True)
    assert all(w < t for w, t in zip(on_worklist, total, strict=True))


@pytest.mark.parametrize("number", [BAKKERIJ, f"be{BAKKERIJ}", f"BE {BAKKERIJ}", "BE0652.381.715", f"NL{BAKKERIJ}"])
def test_statistics_name_a_company_only_by_its_be_prefixed_vat_number(sandbox, token, number):
    query = """query ($number: String) { getCompanyStatistics(type: "AIR", startPeriod: "2025-01-01",
        endPeriod: "2025-01-31", companyNumber: $number) { companyNumber } }"""

    refused = graphql(sandbox, token, query, {"number": number})
    accepted = data(graphql(sandbox, token, query, {"number": f"BE{BAKKERIJ}"}))

    assert refused.json()["data"] is None
    assert error_code(refused) == "NOT_FOUND"
    assert accepted == {"getCompanyStatistics": [{"companyNumber": f"BE{BAKKERIJ}"}]}


UPDATE_APP_INFO = """mutation update ($vatnumber: String!, $imageUrl: String, $emailAddress: String, $badgeText: String,
            $badgeTextColor: String, $badgeColor: String, $iconType: String, $iconColor: String) {
        updateAppInfo (vatnumber: $vatnumber, imageUrl: $imageUrl, emailaddress: $emailAddress,
                badge: { text: $badgeText, textColor: $badgeTextColor, color: $badgeColor },
                icon: { type: $iconType, color: $iconColor }) {
            vatnumber, imageUrl, emailaddress, icon { type, color }, badge { text, textColor, color }
        }
    }"""


def test_mutation_update_app_info(sandbox, token):  # a personal access token: no integration to check
    variables = {
        "vatnumber": BAKKERIJ,
        "imageUrl": "XXX",
        "emailAddress": "test@clearfacts.be",
        "badgeText": "NEW",
        "badgeTextColor": "#d5a855",
        "badgeColor": "red",
        "iconType": "trophy",
        "iconColor": "yellow",
    }

    assert data(multipart(sandbox, token, UPDATE_APP_INFO, variables)) == {
        "updateAppInfo": {
            "vatnumber": BAKKERIJ,
            "imageUrl": "XXX",
            "emailaddress": "test@clearfacts.be",
            "icon": {"type": "trophy", "color": "yellow"},
            "badge": {"text": "NEW", "textColor": "#d5a855", "color": "red"},
        }
    }


# --- authorisation ---


def test_no_token_is_http_401(sandbox):
    response = graphql(sandbox, None, "{ accountant { name } }")

    assert response.status_code == 401
    assert error_code(response) == "UNAUTHENTICATED"


def test_a_missing_scope_is_an_error_with_a_code_and_no_data(sandbox):
    token = personal_token(ASSOCIATE, "read_administrations")

    response = graphql(sandbox, token, "{ accountant { name } administrations { name } }")

    body = response.json()
    assert response.status_code == 200
    assert body["data"]["accountant"] is None and len(body["data"]["administrations"]) == 7
    assert body["errors"][0]["extensions"] == {"code": "MISSING_SCOPE", "scope": "accountant"}
    assert body["errors"][0]["path"] == ["accountant"]


@pytest.mark.parametrize(
    ("operation", "scope"),
    [
        ("{ associates { id } }", "associate_read"),
        ("{ associateGroups { id } }", "associate_read"),
        (f'{{ journals(companyNumber: "{BAKKERIJ}") {{ id }} }}', "journal_read"),
        (f'{{ customers(companyNumber: "{BAKKERIJ}") {{ id }} }}', "contact_read"),
        (f'{{ archiveCategories(vatnumber: "{BAKKERIJ}") {{ various {{ id }} }} }}', "archive_read"),
        (
            '{ getCompanyStatistics(type: "AIR", startPeriod: "2025-01-01", endPeriod: "2025-02-01") { companyNumber } }',
            "statistics",
        ),
        ('{ document(id: "3f2b8c1e-5d0a-4e6b-9c7f-1a2b3c4d5e6f") { id } }', "upload_document"),  # no such document
        ("{ administrations { name } }", "read_administrations"),
    ],
)
def test_each_query_needs_its_scope(sandbox, operation, scope):
    token = personal_token(ASSOCIATE, *(s for s in ALL_SCOPES if s not in (scope, "archive")))

    assert error_code(graphql(sandbox, token, operation)) == "MISSING_SCOPE"


def test_a_client_sees_only_the_administrations_granted_to_them(sandbox):
    token = personal_token(CLIENT_AN, *ALL_SCOPES)

    names = data(graphql(sandbox, token, "{ administrations { name } }"))["administrations"]
    hidden = graphql(sandbox, token, f'{{ journals(companyNumber: "{BROUWERIJ}") {{ id }} }}')

    assert names == [{"name": "Bakkerij Maes BV"}]
    assert error_code(hidden) == "NOT_FOUND"


def test_another_offices_administration_is_not_found(sandbox, token):
    for operation in (
        f'{{ administration(companyNumber: "{BOULANGERIE}") {{ name }} }}',
        f'{{ customers(companyNumber: "{BOULANGERIE}") {{ id }} }}',
        f'{{ getCompanyStatistics(type: "AIR", startPeriod: "2025-01-01", endPeriod: "2025-02-01", companyNumber: "BE{BOULANGERIE}") {{ companyNumber }} }}',
    ):
        response = graphql(sandbox, token, operation)
        assert error_code(response) == "NOT_FOUND", operation
        assert "Boulangerie" not in response.text


def test_another_offices_user_sees_nothing_of_the_first(sandbox):
    token = personal_token(OTHER_OFFICE, *ALL_SCOPES)

    administrations = data(graphql(sandbox, token, "{ administrations { name } }"))["administrations"]
    associates = data(graphql(sandbox, token, "{ associates { email } }"))["associates"]
    upload_response = upload(sandbox, token, samples.pdf(), company=BAKKERIJ)

    assert {a["name"] for a in administrations} == {"Boulangerie Dubois SRL", "Transports Leroy SA"}
    assert associates == [{"email": OTHER_OFFICE}]
    assert error_code(upload_response) == "NOT_FOUND"


def test_another_users_document_is_not_found(sandbox, token):
    uploaded = data(upload(sandbox, token, samples.pdf()))["uploadFile"]
    other = personal_token(OTHER_OFFICE, *ALL_SCOPES)

    response = graphql(sandbox, other, f'{{ document(id: "{uploaded["uuid"]}") {{ id }} }}')

    assert error_code(response) == "NOT_FOUND"


def test_only_office_administrators_update_app_info(sandbox):
    token = personal_token(CLIENT_AN, *ALL_SCOPES)
    query = f'mutation {{ updateAppInfo(vatnumber: "{BAKKERIJ}", badge: {{text: "NEW"}}) {{ vatnumber }} }}'

    assert error_code(graphql(sandbox, token, query)) == "FORBIDDEN"


def oidc_token(username: str, client_id: str, *scopes: str) -> str:
    """A token as the token endpoint issues it to `client_id` (the inner 80 characters)."""
    raw = generate_token(80)
    AccessToken.objects.create(
        kind=AccessToken.Kind.OIDC,
        client=OAuthClient.objects.get(client_id=client_id),
        user=ClearfactsUser.objects.get(username=username),
        token_hash=token_hash(raw),
        token_prefix=raw[:6],
        scope=" ".join(scopes),
    )
    return raw


def test_update_app_info_is_forbidden_to_an_integration_without_a_connected_app(sandbox):
    unconnected = oidc_token(ASSOCIATE, TEST_CLIENT_ID, *ALL_SCOPES)
    variables = {"vatnumber": BAKKERIJ, "badgeText": "NEW"}

    response = graphql(sandbox, unconnected, UPDATE_APP_INFO, variables)

    assert response.json()["data"] == {"updateAppInfo": None}
    assert error_code(response) == "FORBIDDEN"
    assert not AppInfo.objects.exists()
    OAuthClient.objects.filter(client_id=TEST_CLIENT_ID).update(connected_app=True)
    assert data(graphql(sandbox, unconnected, UPDATE_APP_INFO, variables))["updateAppInfo"]["badge"]["text"] == "NEW"


def test_the_seed_connects_an_app_to_the_portals_integration_only(sandbox):
    assert OAuthClient.objects.get(client_id=settings.OIDC_RP_CLIENT_ID).connected_app
    assert not OAuthClient.objects.get(client_id=TEST_CLIENT_ID).connected_app

    portal = oidc_token(ASSOCIATE, settings.OIDC_RP_CLIENT_ID, *ALL_SCOPES)
    assert data(graphql(sandbox, portal, UPDATE_APP_INFO, {"vatnumber": BAKKERIJ, "badgeText": "NEW"}))


def test_a_client_may_not_list_the_associates_of_the_office(sandbox):
    token = personal_token(CLIENT_AN, *ALL_SCOPES)

    response = graphql(sandbox, token, "{ associates { email } }")

    assert response.json()["data"] is None  # associates is non-null in the schema
    assert error_code(response) == "FORBIDDEN"
    assert response.json()["errors"][0]["path"] == ["associates"]
    assert data(graphql(sandbox, token, "{ accountant { name } }"))  # the client still reads its accountant


def test_a_client_cannot_add_associates(sandbox):
    token = personal_token(CLIENT_AN, *ALL_SCOPES)
    query = 'mutation { addAssociate(associate: {firstName: "A", lastName: "B", email: "a@b.be", type: USER}) { id } }'

    assert error_code(graphql(sandbox, token, query)) == "FORBIDDEN"


# --- bad input ---


@pytest.mark.parametrize(
    ("content", "filename", "reason"),
    [
        (samples.TEXT, "notes.pdf", "unsupported_file_type"),
        (samples.DISGUISED_EXE, "invoice.pdf", "unsupported_file_type"),
        (samples.HTML_PAGE, "invoice.xml", "unsupported_file_type"),
        (samples.NOT_AN_INVOICE_XML, "order.xml", "unsupported_xml"),
        (samples.ENTITY_EXPANSION_XML, "bomb.xml", "unsafe_xml"),
        (samples.UBL_INVOICE.replace(b"</Invoice>", b"<unclosed></Invoice>"), "broken.xml", "invalid_xml"),
        (samples.UBL_INVOICE.replace(b"xsd:Invoice-2", b"xsd:Invoice-1"), "old.xml", "unsupported_xml"),
        (
            samples.UBL_INVOICE.replace(b"poacc:billing:3.0", b"poacc:billing:2.0"),
            "bis2.xml",
            "unsupported_customization",
        ),
        (
            samples.UBL_INVOICE.replace(b"CustomizationID", b"ProfileExecutionID"),
            "none.xml",
            "unsupported_customization",
        ),
        (b"", "empty.pdf", "empty_file"),
        (b"%PDF-1.7\nnot really a pdf", "broken.pdf", "invalid_pdf"),
    ],
)
def test_files_clearfacts_does_not_accept_are_refused_and_not_stored(sandbox, token, content, filename, reason):
    response = upload(sandbox, token, content, filename=filename)

    body = response.json()
    assert body["data"]["uploadFile"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNSUPPORTED_FILE", "reason": reason}
    assert not Document.objects.exists()


@pytest.mark.parametrize(
    ("content", "content_type", "pages"),
    [
        (samples.JPEG, "image/jpeg", 1),
        (samples.UBL_INVOICE, "application/xml", 1),
        (samples.UBL_CREDIT_NOTE, "application/xml", 1),
        (samples.pdf(5), "application/pdf", 5),
    ],
)
def test_pdf_jpeg_and_ubl_xml_are_accepted(sandbox, token, content, content_type, pages):
    uploaded = data(upload(sandbox, token, content, filename="scan", content_type=content_type))["uploadFile"]

    assert uploaded["amountOfPages"] == pages
    assert Document.objects.get(uuid=uploaded["uuid"]).content_type == content_type


@pytest.mark.parametrize("filename", ["../etc/passwd", "a/b.pdf", "c:\\temp\\x.pdf", "", ".."])
def test_file_names_with_path_parts_are_refused(sandbox, token, filename):
    response = upload(sandbox, token, samples.pdf(), filename=filename)

    assert error_code(response) == "BAD_USER_INPUT"
    assert not Document.objects.exists()


def test_an_upload_without_a_file_is_refused(sandbox, token):
    variables = {"vatNumber": BAKKERIJ, "fileName": "a.pdf", "invoiceType": "SALE"}

    assert error_code(multipart(sandbox, token, UPLOAD, variables)) == "BAD_USER_INPUT"


def test_an_unknown_archive_category_is_refused(sandbox, token):
    variables = {"vatNumber": BAKKERIJ, "fileName": "a.pdf", "type": "PERMANENT", "category": str(uuid.uuid4())}

    response = multipart(sandbox, token, ARCHIVE_UPLOAD, variables, ("a.pdf", samples.pdf()))

    assert error_code(response) == "BAD_USER_INPUT"
    assert not Document.objects.exists()


def test_a_duplicate_associate_email_is_refused(sandbox, token):
    query = f'mutation {{ addAssociate(associate: {{firstName: "A", lastName: "B", email: "{CLIENT_AN}", type: USER}}) {{ id }} }}'

    response = graphql(sandbox, token, query)

    assert error_code(response) == "BAD_USER_INPUT"
    assert response.json()["errors"][0]["extensions"]["field"] == "email"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('type: "XYZ", startPeriod: "2025-01-01", endPeriod: "2025-02-01"', "type must be AIR or processing."),
        ('type: "AIR", startPeriod: "2025-03-01", endPeriod: "2025-02-01"', "endPeriod must not be before"),
    ],
)
def test_bad_statistics_arguments_are_explained(sandbox, token, arguments, message):
    response = graphql(sandbox, token, f"{{ getCompanyStatistics({arguments}) {{ companyNumber }} }}")

    assert error_code(response) == "BAD_USER_INPUT"
    assert response.json()["errors"][0]["message"].startswith(message)


def test_the_public_documentations_statistics_query_with_date_variables(sandbox, token):
    # Verbatim from Clearfacts' developer documentation ("Query the statistics of a company").
    query = """query statistics ($type: String!, $startPeriod: Date!, $endPeriod: Date!) {
      getCompanyStatistics(type: $type, startPeriod: $startPeriod, endPeriod: $endPeriod) {
        companyNumber
        items {
          period
          value
        }
      }
    }"""
    variables = {"type": "AIR", "startPeriod": "2015-01-18", "endPeriod": "2015-03-18"}

    statistics = data(graphql(sandbox, token, query, variables))["getCompanyStatistics"]

    assert [item["period"] for item in statistics[0]["items"]] == ["01/2015", "02/2015", "03/2015"]


@pytest.mark.parametrize("period", ["yesterday", "2025-13-01", "18/01/2015", 20250101])
def test_a_period_that_is_not_an_rfc_3339_date_is_refused(sandbox, token, period):
    query = """query ($start: Date!) { getCompanyStatistics(type: "AIR", startPeriod: $start,
        endPeriod: "2025-02-01") { companyNumber } }"""

    response = graphql(sandbox, token, query, {"start": period})

    assert response.json().get("data") is None
    assert "RFC 3339 date" in response.json()["errors"][0]["message"]
    literal = graphql(
        sandbox,
        token,
        '{ getCompanyStatistics(type: "AIR", startPeriod: "yesterday", endPeriod: "2025-02-01") { companyNumber } }',
    )
    assert literal.status_code == 400 and error_code(literal) == "GRAPHQL_VALIDATION_FAILED"


def test_a_negative_customers_offset_is_refused(sandbox, token):
    response = graphql(sandbox, token, f'{{ customers(companyNumber: "{BAKKERIJ}", offset: -1) {{ id }} }}')

    assert error_code(response) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("{ accountant { name }", 400, "GRAPHQL_PARSE_FAILED"),
        ("{ accountant { nonsense } }", 400, "GRAPHQL_VALIDATION_FAILED"),
    ],
)
def test_invalid_queries_are_http_400_with_a_code(sandbox, token, query, status, code):
    response = graphql(sandbox, token, query)

    assert response.status_code == status
    assert error_code(response) == code


def test_an_unsupported_body_is_http_400(sandbox, token):
    response = requests.post(
        sandbox.graphql_url,
        data="query=x",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
        timeout=10,
    )
    assert response.status_code == 400


def test_get_is_not_allowed(sandbox, token):
    response = requests.get(sandbox.graphql_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 405


def test_the_request_log_counts_what_was_asked(sandbox, token):
    data(upload(sandbox, token, samples.pdf()))
    graphql(sandbox, None, "{ accountant { name } }")

    log = list(
        RequestLog.objects.filter(service="clearfacts-graphql").order_by("id").values("operation", "status", "caller")
    )
    assert log == [
        {"operation": "uploadFile", "status": 200, "caller": ASSOCIATE},
        {"operation": "accountant", "status": 401, "caller": ""},
    ]
    assert AccessToken.objects.get(kind="personal").last_used_at is not None
