"""Signing out: the tokens are revoked at the provider and forgotten here, and the provider's own
session ends too, so the next sign-in may be someone else."""

import time

import requests
from django.core.cache import cache
from django.test import override_settings

from accounts.models import ClearfactsCredential, User
from sandbox.clearfacts.models import AccessToken
from sandbox.instrument import fail_next
from sandbox.models import RequestLog
from tests.conftest import wait_until
from tests.personas import MARC, SOFIE
from tests.portal_site import sign_in


def sign_out(browser, portal):
    return browser.post(
        f"{portal.url}/accounts/sign-out/", headers={"X-CSRFToken": browser.cookies["csrftoken"]}, timeout=30
    )


def test_sign_out_revokes_the_tokens_at_the_provider(portal):
    browser, _ = sign_in(portal, SOFIE)
    access_token = ClearfactsCredential.objects.get().access_token

    sign_out(browser, portal)

    token = AccessToken.objects.get()
    assert token.revoked_at is not None and token.refresh_revoked_at is not None
    assert not ClearfactsCredential.objects.exists()
    userinfo = requests.get(
        f"{portal.issuer}/oauth2-server/userinfo", headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )
    assert userinfo.status_code == 401


def test_sign_out_revokes_and_ends_the_provider_session_when_discovery_is_no_longer_cached(portal):
    browser, _ = sign_in(portal, SOFIE)
    cache.clear()  # the discovery document expired, or the cache restarted, since the sign-in

    signed_out = sign_out(browser, portal)

    token = AccessToken.objects.get()
    assert token.revoked_at is not None and token.refresh_revoked_at is not None
    assert any("/sandbox/clearfacts/oauth2-server/logout" in step.url for step in signed_out.history)
    assert signed_out.url == f"{portal.url}/accounts/sign-in/"


def test_sign_out_revokes_the_access_token_itself_not_only_its_refresh_token(portal):
    browser, _ = sign_in(portal, SOFIE)

    sign_out(browser, portal)

    revoked = RequestLog.objects.filter(operation="revocation").count()
    assert revoked == 2, "a provider need not end the access token with its refresh token (RFC 7009 §2.1)"


def test_sign_out_works_when_revocation_fails(portal):
    browser, _ = sign_in(portal, SOFIE)
    fail_next("clearfacts-oidc", operation="revocation", status=503)

    response = sign_out(browser, portal)

    assert response.url == f"{portal.url}/accounts/sign-in/"
    assert not ClearfactsCredential.objects.exists()
    assert RequestLog.objects.filter(operation="revocation", status=503).exists()


def test_sign_out_does_not_wait_for_a_slow_provider(portal):
    browser, _ = sign_in(portal, SOFIE)

    with override_settings(OIDC_REVOCATION_TIMEOUT=0.5, SANDBOX_LATENCY_MS=3000):
        started = time.monotonic()
        response = sign_out(browser, portal)
        took = time.monotonic() - started
        wait_until(lambda: RequestLog.objects.filter(operation="revocation").exists(), message="the slow revocation")

    assert took < 2.5
    assert response.url == f"{portal.url}/accounts/sign-in/"
    assert not ClearfactsCredential.objects.exists()


def test_after_signing_out_another_person_can_sign_in_in_the_same_browser(portal):
    browser, _ = sign_in(portal, SOFIE)

    signed_out = sign_out(browser, portal)
    browser, response = sign_in(portal, MARC, browser=browser)

    assert signed_out.url == f"{portal.url}/accounts/sign-in/"
    assert any("/sandbox/clearfacts/oauth2-server/logout" in step.url for step in signed_out.history)
    assert response.url == f"{portal.url}/"
    assert "Marc Lambert" in response.text and "Sofie Vandenberghe" not in response.text
    assert User.objects.filter(email=MARC).exists()


def test_the_sandbox_ends_its_session_but_sends_no_one_to_a_foreign_site(portal):
    browser, _ = sign_in(portal, SOFIE)

    response = browser.get(
        f"{portal.issuer}/oauth2-server/logout",
        params={"client_id": "clearfacts-portal", "post_logout_redirect_uri": "https://evil.example/"},
        timeout=30,
    )

    assert response.status_code == 200 and 'data-testid="sandbox-logged-out"' in response.text
    assert "cf_sandbox_session" not in browser.cookies.get_dict(path="/sandbox/clearfacts/")
