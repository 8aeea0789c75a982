"""Every Clearfacts answer is checked before use: a null, missing or mistyped answer means
"Clearfacts could not say" (the page says so, the sync keeps what it had), never an error page.

The sandbox breaks its next answer on demand (sandbox.clearfacts.malformed), over real HTTP.
"""

import pytest

from accounts.models import Membership, User
from clearfacts_app import client
from clearfacts_app.models import Administration, AdministrationAccess, Document
from clearfacts_app.sync import sync_user
from sandbox.clearfacts import malformed
from tests.factories import make_document
from tests.personas import BAKKERIJ, SOFIE
from tests.portal_site import sign_in
from tests.signed_in import sign_in_directly, uploaded_to_clearfacts

BROKEN = ["null", "missing", "wrong_types", "not_a_list", "missing_fields"]
COULD_NOT_SAY = "Clearfacts could not say just now"


# --- the sync ---


@pytest.mark.parametrize("kind", BROKEN)
def test_sign_in_survives_a_broken_associates_answer_and_keeps_the_role(portal, kind):
    sign_in(portal, SOFIE)
    Membership.objects.update(role=Membership.Role.VIEWER)
    malformed.plan("associates", kind)

    browser, response = sign_in(portal, SOFIE)

    assert response.status_code == 200 and "Server Error" not in response.text
    assert Membership.objects.get().role == Membership.Role.VIEWER
    assert AdministrationAccess.objects.count() == 7


def test_the_first_sign_in_with_associates_null_is_a_member(portal):
    malformed.plan("associates", "null")

    _, response = sign_in(portal, SOFIE)

    assert response.status_code == 200
    assert User.objects.get().membership.role == Membership.Role.MEMBER


@pytest.mark.parametrize("field", ["accountant", "administrations"])
@pytest.mark.parametrize("kind", BROKEN)
def test_a_broken_office_or_administrations_answer_changes_nothing(portal, field, kind):
    sign_in_directly(portal, SOFIE)
    user = User.objects.get()
    Administration.objects.update(name="as it was")
    malformed.plan(field, kind)

    with pytest.raises(client.ClearfactsAnswerInvalid):
        sync_user(user=user)

    assert AdministrationAccess.objects.filter(user=user).count() == 7
    assert set(Administration.objects.values_list("name", flat=True)) == {"as it was"}
    assert user.membership.office.name == "Boekhoudkantoor Vandenberghe & Partners"


def test_a_signed_in_refresh_with_a_broken_answer_is_a_message_not_an_error(sofie, portal):
    malformed.plan("administrations", "wrong_types")

    response = sofie.post(
        f"{portal.url}/accounts/refresh/",
        data={"csrfmiddlewaretoken": sofie.cookies["csrftoken"]},
        headers={"Referer": f"{portal.url}/"},
        timeout=30,
    )

    assert response.status_code == 200 and "Server Error" not in response.text
    assert "could not say just now which administrations you have" in response.text
    assert "could not be reached" not in response.text
    assert AdministrationAccess.objects.count() == 7


def test_fields_nobody_asked_for_are_dropped_before_anything_is_stored(portal):
    malformed.plan("administrations", "extra_fields")

    sign_in(portal, SOFIE)

    bakkerij = Administration.objects.get(company_number=BAKKERIJ)
    assert bakkerij.emails and all(set(email) == {"type", "emailAddress"} for email in bakkerij.emails)


# --- the pages ---

PAGES = [
    (f"/administrations/{BAKKERIJ}/journals/", "journals"),
    (f"/administrations/{BAKKERIJ}/customers/", "customers"),
    (f"/administrations/{BAKKERIJ}/customers/?q=a", "customers"),
    (f"/administrations/{BAKKERIJ}/archive/", "archiveCategories"),
    (f"/administrations/{BAKKERIJ}/statistics/", "getCompanyStatistics"),
    ("/office/", "accountant"),
    ("/office/associates/", "associates"),
    (f"/administrations/{BAKKERIJ}/documents/upload/", "archiveCategories"),
]


@pytest.mark.parametrize(("path", "field"), PAGES)
@pytest.mark.parametrize("kind", BROKEN)
def test_a_page_says_clearfacts_could_not_say_when_its_answer_is_broken(sofie, portal, path, field, kind):
    malformed.plan(field, kind)

    page = sofie.get(f"{portal.url}{path}", timeout=30)

    assert page.status_code == 200
    assert COULD_NOT_SAY in page.text


@pytest.mark.parametrize(("path", "field"), PAGES[:5])
def test_a_tab_with_extra_fields_in_its_answer_still_shows_it(sofie, portal, path, field):
    malformed.plan(field, "extra_fields")

    page = sofie.get(f"{portal.url}{path}", timeout=30)

    assert page.status_code == 200 and COULD_NOT_SAY not in page.text and "could not be reached" not in page.text
    assert "internalRef" not in page.text


def uploaded(user, kind: str | None = None):
    if kind:
        malformed.plan("uploadFile", kind)
    return uploaded_to_clearfacts(user, BAKKERIJ)


@pytest.mark.parametrize("kind", ["null", "missing", "wrong_types", "not_a_list", "missing_fields"])
def test_an_upload_answer_without_a_usable_id_is_an_unknown_outcome(portal, kind):
    sign_in_directly(portal, SOFIE)

    with pytest.raises(client.OutcomeUnknown):
        uploaded(User.objects.get(), kind)


def test_an_upload_answer_with_extra_fields_gives_the_id(portal):
    sign_in_directly(portal, SOFIE)

    answer = uploaded(User.objects.get(), "extra_fields")

    assert set(answer) == {"uuid", "amountOfPages"} and answer["amountOfPages"] == 1


@pytest.mark.parametrize("kind", BROKEN)
def test_the_document_page_says_clearfacts_could_not_say(sofie, portal, kind):
    user = User.objects.get()
    sent = uploaded(user)
    document = make_document(
        Administration.objects.get(company_number=BAKKERIJ),
        user,
        "invoice.pdf",
        status=Document.Status.SENT,
        clearfacts_uuid=sent["uuid"],
    )
    malformed.plan("document", kind)

    page = sofie.get(f"{portal.url}/administrations/{BAKKERIJ}/documents/{document.pk}/", timeout=30)

    assert page.status_code == 200 and COULD_NOT_SAY in page.text
