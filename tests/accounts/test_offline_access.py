"""Offline access (refresh tokens) from Clearfacts and from a provider that follows OpenID Connect Core §11."""

from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings
from django.test import override_settings

from accounts.models import ClearfactsCredential
from sandbox.clearfacts.models import AccessToken
from tests.personas import SOFIE
from tests.portal_site import sign_in

NOTICE = "geen vernieuwingstoken"  # Sofie speaks Dutch


def authorization_request(browser, portal) -> dict:
    response = browser.get(f"{portal.url}/accounts/oidc/start/", allow_redirects=False, timeout=30)
    return {name: values[0] for name, values in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def test_a_sign_in_asks_for_offline_access_with_prompt_consent(portal):
    params = authorization_request(requests.Session(), portal)

    assert "offline_access" in params["scope"].split()
    assert params["prompt"] == "consent"


def test_a_strict_provider_gives_the_portal_a_refresh_token(portal):
    with override_settings(SANDBOX_OIDC_STRICT_OFFLINE_ACCESS=True):
        _, response = sign_in(portal, SOFIE)

    credential = ClearfactsCredential.objects.get()
    assert credential.refresh_token and "offline_access" in credential.scopes.split()
    assert NOTICE not in response.text


def test_a_new_sign_in_without_a_refresh_token_keeps_the_valid_one(portal):
    browser, _ = sign_in(portal, SOFIE)
    first = ClearfactsCredential.objects.get().refresh_token
    with override_settings(SANDBOX_OIDC_STRICT_OFFLINE_ACCESS=True):
        # Signed in with a refresh token, the portal asks without prompt=consent; a strict provider then
        # gives no offline access.
        assert "prompt" not in authorization_request(browser, portal)
        sign_in(portal, SOFIE, browser=browser)

    credential = ClearfactsCredential.objects.get()
    assert AccessToken.objects.filter(refresh_token_hash__isnull=True).exists(), "the second sign-in brought none"
    assert credential.refresh_token == first and credential.is_valid


def test_the_user_is_told_when_the_portal_cannot_work_in_the_background(portal):
    scopes = " ".join(scope for scope in settings.OIDC_RP_SCOPES.split() if scope != "offline_access")
    with override_settings(SANDBOX_OIDC_STRICT_OFFLINE_ACCESS=True, OIDC_RP_SCOPES=scopes):
        browser, response = sign_in(portal, SOFIE)

    credential = ClearfactsCredential.objects.get()
    assert credential.refresh_token == "" and credential.access_expires_at is not None
    assert NOTICE in response.text, response.text.split("<main", 1)[-1][:3000]


def test_only_scopes_the_portal_knows_can_be_granted_from_a_page(portal):
    browser = requests.Session()
    known = authorization_request_with(browser, portal, grant="associate_actions")
    unknown = authorization_request_with(browser, portal, grant="everything admin")

    assert "associate_actions" in known["scope"].split() and known["prompt"] == "consent"
    assert unknown["scope"] == settings.OIDC_RP_SCOPES


def authorization_request_with(browser, portal, **params) -> dict:
    response = browser.get(f"{portal.url}/accounts/oidc/start/", params=params, allow_redirects=False, timeout=30)
    return {name: values[0] for name, values in parse_qs(urlsplit(response.headers["Location"]).query).items()}
