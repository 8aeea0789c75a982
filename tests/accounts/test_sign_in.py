"""Sign in with Clearfacts, over a real socket against the sandbox: the flow, the sync, the refusals."""

from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from accounts.models import ClearfactsCredential, Membership, User
from clearfacts_app.models import Administration, AdministrationAccess
from sandbox.clearfacts import keys, misbehave
from sandbox.clearfacts.models import AccessToken, ClearfactsUser, Company
from sandbox.instrument import fail_next
from sandbox.models import RequestLog
from tests.personas import AN, BAKKERIJ, MARC, SOFIE
from tests.portal_site import authorization_redirect, sign_in


def signed_in_user(browser, portal) -> bool:
    return browser.get(f"{portal.url}/", allow_redirects=False, timeout=10).status_code == 200


def test_first_sign_in_creates_the_user_syncs_the_office_and_lands_on_the_dashboard(portal):
    browser, response = sign_in(portal, SOFIE)

    assert response.status_code == 200 and response.url == f"{portal.url}/"
    assert "Sofie Vandenberghe" in response.text and "Boekhoudkantoor Vandenberghe &amp; Partners" in response.text
    cf_user = ClearfactsUser.objects.get(username=SOFIE)
    user = User.objects.get(oidc_subject=str(cf_user.subject))
    assert (user.oidc_issuer, user.email, user.display_name, user.locale) == (
        portal.issuer,
        SOFIE,
        "Sofie Vandenberghe",
        "nl-BE",
    )
    assert not user.has_usable_password()
    assert user.membership.office.company_number == "0471234512"
    assert user.membership.role == Membership.Role.ADMIN
    assert AdministrationAccess.objects.filter(user=user).count() == 7
    assert browser.cookies.get(settings.LANGUAGE_COOKIE_NAME) == "nl"


def test_the_token_is_stored_encrypted_with_its_refresh_token_and_granted_scopes(portal):
    sign_in(portal, SOFIE)

    credential = ClearfactsCredential.objects.get()
    assert credential.access_token.count(".") == 2 and credential.refresh_token
    assert timedelta(minutes=55) < credential.access_expires_at - timezone.now() <= timedelta(hours=1)
    assert {"openid", "offline_access", "read_administrations", "upload_document"} <= set(credential.scopes.split())
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM accounts_clearfactscredential")
        raw_access, raw_refresh = cursor.fetchone()
    assert credential.access_token not in raw_access and credential.refresh_token not in raw_refresh


def test_without_offline_access_the_portal_keeps_a_long_lived_token(portal):
    scopes = " ".join(s for s in settings.OIDC_RP_SCOPES.split() if s != "offline_access")
    with override_settings(OIDC_RP_SCOPES=scopes):
        sign_in(portal, SOFIE)

    credential = ClearfactsCredential.objects.get()
    assert credential.refresh_token == ""
    assert credential.access_expires_at - timezone.now() > timedelta(days=300)


def test_a_repeated_sign_in_updates_the_same_user(portal):
    browser, _ = sign_in(portal, AN)
    browser.post(f"{portal.url}/accounts/sign-out/", headers={"X-CSRFToken": browser.cookies["csrftoken"]})
    ClearfactsUser.objects.filter(username=AN).update(first_name="Anneleen", locale="fr-BE", email="anneleen@maes.be")

    browser, response = sign_in(portal, AN, browser=browser)

    assert response.url == f"{portal.url}/"
    user = User.objects.get()  # no second user: matched on (issuer, sub), not on e-mail
    assert (user.display_name, user.email, user.locale) == ("Anneleen Maes", "anneleen@maes.be", "fr-BE")
    assert browser.cookies.get(settings.LANGUAGE_COOKIE_NAME) == "fr"
    assert 'lang="fr"' in response.text
    assert RequestLog.objects.filter(service="clearfacts-oidc", operation="token").count() == 2


def test_a_client_sees_only_the_administration_clearfacts_grants(portal):
    browser, response = sign_in(portal, AN)

    user = User.objects.get()
    assert list(Administration.objects.visible_to(user).values_list("name", flat=True)) == ["Bakkerij Maes BV"]
    assert user.membership.role == Membership.Role.MEMBER


def test_a_withdrawn_administration_disappears_at_the_next_refresh(portal):
    browser, _ = sign_in(portal, AN)
    page = f"{portal.url}/administrations/{BAKKERIJ}/"
    assert browser.get(page, timeout=10).status_code == 200

    ClearfactsUser.objects.get(username=AN).companies.clear()
    refreshed = browser.post(
        f"{portal.url}/accounts/refresh/", headers={"X-CSRFToken": browser.cookies["csrftoken"]}, timeout=30
    )

    assert "u hebt toegang tot 0 administraties" in refreshed.text  # An speaks Dutch (nl-BE)
    assert browser.get(page, timeout=10).status_code == 404
    assert not AdministrationAccess.objects.exists()


def test_a_granted_administration_appears_at_the_next_refresh(portal):
    browser, _ = sign_in(portal, AN)
    ClearfactsUser.objects.get(username=AN).companies.add(Company.objects.get(name="Garage Peeters BV"))

    browser.post(f"{portal.url}/accounts/refresh/", headers={"X-CSRFToken": browser.cookies["csrftoken"]}, timeout=30)

    assert AdministrationAccess.objects.count() == 2


def test_users_of_another_office_see_nothing_of_the_first(portal):
    sign_in(portal, SOFIE)
    browser, _ = sign_in(portal, MARC)

    marc = User.objects.get(email=MARC)
    assert marc.membership.office.name == "Fiduciaire Lambert SRL"
    assert Administration.objects.visible_to(marc).count() == 2
    assert browser.get(f"{portal.url}/administrations/{BAKKERIJ}/", timeout=10).status_code == 404


def test_sign_out_ends_the_session_and_forgets_the_token(portal):
    browser, _ = sign_in(portal, SOFIE)

    response = browser.post(f"{portal.url}/accounts/sign-out/", headers={"X-CSRFToken": browser.cookies["csrftoken"]})

    assert response.url == f"{portal.url}/accounts/sign-in/"
    assert not ClearfactsCredential.objects.exists()
    assert not signed_in_user(browser, portal)


def test_a_plain_request_returns_to_its_page_after_signing_in(portal):
    browser = requests.Session()
    page = f"/administrations/{BAKKERIJ}/"
    first = browser.get(f"{portal.url}{page}", timeout=10)
    assert first.url == f"{portal.url}/accounts/sign-in/?next=/administrations/{BAKKERIJ}/"

    _, response = sign_in(portal, SOFIE, browser=browser, next_url=page)

    assert response.url == f"{portal.url}{page}"


def test_a_refused_token_asks_the_user_to_sign_in_again(portal):
    browser, _ = sign_in(portal, SOFIE)
    AccessToken.objects.update(revoked_at=timezone.now(), refresh_revoked_at=timezone.now())

    refreshed = browser.post(
        f"{portal.url}/accounts/refresh/", headers={"X-CSRFToken": browser.cookies["csrftoken"]}, timeout=30
    )

    assert refreshed.status_code == 401
    assert 'data-testid="reauthenticate"' in refreshed.text
    assert ClearfactsCredential.objects.get().status == ClearfactsCredential.Status.INVALID
    htmx = browser.get(f"{portal.url}/", headers={"HX-Request": "true", "HX-Current-URL": f"{portal.url}/"}, timeout=10)
    assert htmx.headers["HX-Redirect"] == "/accounts/sign-in-again/?next=%2F"
    calls = RequestLog.objects.filter(service="clearfacts-graphql").count()
    browser.get(f"{portal.url}/", timeout=10)
    assert RequestLog.objects.filter(service="clearfacts-graphql").count() == calls, "no calls with a refused token"

    _, response = sign_in(portal, SOFIE, browser=browser)
    assert response.url == f"{portal.url}/" and ClearfactsCredential.objects.get().is_valid


def test_the_navigation_shows_name_and_office_and_offers_sign_out(portal):
    _, response = sign_in(portal, SOFIE)

    assert 'data-testid="user-menu"' in response.text
    assert "Sofie Vandenberghe" in response.text and "Boekhoudkantoor Vandenberghe" in response.text
    assert "/accounts/sign-out/" in response.text


# --- refusals ---


def failure_reason(response) -> str | None:
    marker = 'data-testid="sign-in-failed" data-reason="'
    return response.text.split(marker, 1)[1].split('"', 1)[0] if marker in response.text else None


@pytest.mark.parametrize(
    "kind",
    [
        misbehave.Kind.TAMPERED_SIGNATURE,
        misbehave.Kind.ALG_NONE,
        misbehave.Kind.HS256_CLIENT_SECRET,
        misbehave.Kind.WRONG_AUDIENCE,
        misbehave.Kind.WRONG_ISSUER,
        misbehave.Kind.EXPIRED,
        misbehave.Kind.WRONG_NONCE,
        misbehave.Kind.MISSING_SUB,
        misbehave.Kind.MISSING_IAT,
        misbehave.Kind.USERINFO_OTHER_SUB,
    ],
)
def test_an_id_token_that_fails_verification_is_refused_with_a_friendly_page(portal, kind):
    misbehave.plan(kind)

    browser, response = sign_in(portal, SOFIE)

    assert response.status_code == 400
    assert failure_reason(response) == "invalid_token"
    assert "Sign in with Clearfacts again" in response.text
    assert not User.objects.exists() and not ClearfactsCredential.objects.exists()
    assert not signed_in_user(browser, portal)


def test_a_token_without_kid_is_accepted_while_the_jwks_has_one_key(portal):
    misbehave.plan(misbehave.Kind.NO_KID)

    _, response = sign_in(portal, SOFIE)

    assert response.url == f"{portal.url}/"


def test_a_token_without_kid_is_refused_when_the_jwks_has_several_keys(portal):
    keys.active_key()
    call_command("sandbox_rotate_signing_key", stdout=open("/dev/null", "w"))  # noqa: SIM115
    misbehave.plan(misbehave.Kind.NO_KID)

    _, response = sign_in(portal, SOFIE)

    assert failure_reason(response) == "invalid_token"


def jwks_fetches() -> int:
    return RequestLog.objects.filter(service="clearfacts-oidc", operation="jwks").count()


def test_a_new_kid_after_key_rotation_is_accepted_after_one_jwks_refetch(portal, settings):
    sign_in(portal, SOFIE)
    assert jwks_fetches() == 1
    call_command("sandbox_rotate_signing_key", stdout=open("/dev/null", "w"))  # noqa: SIM115

    with override_settings(OIDC_JWKS_REFETCH_INTERVAL=0):
        _, response = sign_in(portal, MARC)

    assert response.url == f"{portal.url}/"
    assert jwks_fetches() == 2


def test_an_unknown_kid_is_refused_after_one_refetch(portal):
    sign_in(portal, SOFIE)
    misbehave.plan(misbehave.Kind.UNKNOWN_KID)

    with override_settings(OIDC_JWKS_REFETCH_INTERVAL=0):
        _, response = sign_in(portal, MARC)

    assert failure_reason(response) == "invalid_token"
    assert jwks_fetches() == 2


def test_consent_denied_gets_a_friendly_page(portal):
    browser, response = sign_in(portal, SOFIE, decision="deny")

    assert response.status_code == 403
    assert failure_reason(response) == "access_denied"
    assert not signed_in_user(browser, portal)


def test_a_forged_error_callback_does_not_sign_the_user_out(portal):
    browser, _ = sign_in(portal, SOFIE)

    response = browser.get(f"{portal.url}/accounts/oidc/callback/?error=access_denied", timeout=30)

    assert failure_reason(response) == "access_denied"
    assert signed_in_user(browser, portal)


def test_a_callback_with_an_unknown_state_is_refused(portal):
    browser, callback = authorization_redirect(portal, SOFIE)
    forged = callback.replace("state=", "state=forged")

    response = browser.get(forged, timeout=30)

    assert response.status_code == 400
    assert failure_reason(response) == "state_mismatch"
    assert not RequestLog.objects.filter(operation="token").exists(), "the code must not even be exchanged"


def test_a_callback_without_a_session_is_refused(portal):
    _, callback = authorization_redirect(portal, SOFIE)

    response = requests.get(callback, timeout=30)  # another browser: no state in its session

    assert failure_reason(response) == "state_mismatch"


def test_a_replayed_code_is_refused(portal):
    browser, first_callback = authorization_redirect(portal, SOFIE)
    assert signed_in_user(browser, portal) is False
    browser.get(first_callback, timeout=30)  # completes the first sign-in with its code
    browser.post(f"{portal.url}/accounts/sign-out/", headers={"X-CSRFToken": browser.cookies["csrftoken"]})
    browser, second_callback = authorization_redirect(portal, SOFIE, browser=browser)
    code = first_callback.split("code=")[1].split("&")[0]
    replay = second_callback.split("?")[0] + f"?code={code}&state=" + second_callback.split("state=")[1].split("&")[0]

    response = browser.get(replay, timeout=30)

    assert response.status_code == 400
    assert failure_reason(response) == "code_rejected"
    assert not signed_in_user(browser, portal)


def test_an_unreachable_provider_gets_a_friendly_page(portal):
    with override_settings(CLEARFACTS_OIDC_ISSUER="http://127.0.0.1:9/clearfacts"):
        response = requests.get(f"{portal.url}/accounts/oidc/start/", timeout=30)

    assert response.status_code == 503
    assert failure_reason(response) == "provider_unreachable"


def test_a_failing_token_endpoint_gets_a_friendly_page(portal):
    fail_next("clearfacts-oidc", operation="token", count=2, status=503)

    _, response = sign_in(portal, SOFIE)

    assert response.status_code == 503
    assert failure_reason(response) == "provider_unreachable"
    assert not User.objects.exists()


def test_no_token_value_is_logged(portal, caplog):
    misbehave.plan(misbehave.Kind.WRONG_AUDIENCE)
    with caplog.at_level("DEBUG"):
        sign_in(portal, SOFIE)
        sign_in(portal, SOFIE)

    secrets = [ClearfactsCredential.objects.get().access_token, ClearfactsCredential.objects.get().refresh_token]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "invalid_token" in logged
    assert not any(secret in logged for secret in secrets)
