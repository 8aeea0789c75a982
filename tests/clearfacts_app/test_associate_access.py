"""Office administrators and the associate_actions scope: asked for by default, and granted from the page
when a sign-in lacks it."""

from django.test import override_settings

from accounts.models import ClearfactsCredential
from tests.clearfacts_app.test_pages import get, scopes_without
from tests.personas import SOFIE
from tests.portal_site import csrf_token, sign_in
from tests.signed_in import in_english, sign_in_directly


def test_an_office_administrator_can_add_associates_with_the_default_settings(portal):
    browser = sign_in_directly(portal, SOFIE, language="en")

    page = get(browser, "/office/associates/add/")

    assert 'data-testid="associate-form"' in page.text
    assert "<h1>Add an associate</h1>" in page.text


def without_associate_actions(portal):
    with override_settings(OIDC_RP_SCOPES=scopes_without("associate_actions")):
        browser, _ = sign_in(portal, SOFIE)
    return browser


def test_a_missing_scope_is_granted_from_the_page_and_the_user_lands_back_on_it(portal):
    browser = in_english(without_associate_actions(portal), portal)
    page = get(browser, "/office/associates/add/")
    assert "<h1>Add an associate</h1>" in page.text and "Edit" not in page.text.split("<h1>", 1)[1][:60]
    assert "(scope associate_actions)" in page.text and "Sign in again" not in page.text
    grant = page.text.split('data-testid="grant-access" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")

    with override_settings(OIDC_RP_SCOPES=scopes_without("associate_actions")):
        consent = browser.get(f"{portal.url}{grant}", timeout=30)
        assert "associate_actions" in consent.text, "the provider asks for the missing scope"
        back = browser.post(
            consent.url,
            data={"csrfmiddlewaretoken": csrf_token(consent.text), "decision": "allow"},
            headers={"Referer": consent.url},
            timeout=30,
        )

    assert back.url == f"{portal.url}/office/associates/add/"
    assert 'data-testid="associate-form"' in back.text
    assert ClearfactsCredential.objects.get().has_scope("associate_actions")


def test_the_list_offers_an_administrator_to_grant_the_scope(portal):
    browser = in_english(without_associate_actions(portal), portal)

    page = get(browser, "/office/associates/")

    assert 'data-testid="grant-associate-actions"' in page.text and 'data-testid="grant-access"' in page.text


def test_the_add_page_is_headed_add_in_dutch_and_french(portal):
    browser = without_associate_actions(portal)

    dutch = get_as(browser, portal, "/office/associates/add/")
    browser.post(
        f"{portal.url}/i18n/setlang/",
        data={"language": "fr", "next": "/", "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        timeout=30,
    )
    french = get_as(browser, portal, "/office/associates/add/")

    assert heading(dutch) == "Een medewerker toevoegen" and title(dutch).startswith("Een medewerker toevoegen")
    assert heading(french) == "Ajouter un collaborateur" and title(french).startswith("Ajouter un collaborateur")
    assert "de ajouter" not in french.text and "à ajouter" in french.text


def get_as(browser, portal, path):
    return browser.get(f"{portal.url}{path}", timeout=30)


def heading(page) -> str:
    return page.text.split("<h1>", 1)[1].split("</h1>", 1)[0].strip()


def title(page) -> str:
    return page.text.split("<title>", 1)[1].split("</title>", 1)[0].strip()
