"""Sign-in edges, over a real socket against the sandbox: odd `next` values, forged log lines, a wrong
client secret, an issuer with a trailing slash, and the language of the first message."""

import logging

import pytest
import requests
from django.conf import settings
from django.test import override_settings

from accounts.models import User
from portal.env import env_url
from tests.personas import AN, SOFIE
from tests.portal_site import sign_in

NOT_PATHS = ["0", "last", "sign-in", "//evil.example/", "https://evil.example/", "javascript:alert(1)"]


def failure_reason(response) -> str | None:
    marker = 'data-testid="sign-in-failed" data-reason="'
    return response.text.split(marker, 1)[1].split('"', 1)[0] if marker in response.text else None


@pytest.mark.parametrize("next_url", NOT_PATHS)
def test_next_values_that_are_not_paths_send_a_signed_in_user_to_the_dashboard(portal, next_url):
    browser, _ = sign_in(portal, SOFIE)
    csrf = {"X-CSRFToken": browser.cookies["csrftoken"]}

    pages = [
        browser.get(f"{portal.url}/accounts/sign-in/", params={"next": next_url}, allow_redirects=False, timeout=30),
        browser.get(
            f"{portal.url}/accounts/sign-in-again/", params={"next": next_url}, allow_redirects=False, timeout=30
        ),
        browser.post(
            f"{portal.url}/accounts/refresh/", data={"next": next_url}, headers=csrf, allow_redirects=False, timeout=30
        ),
    ]

    assert [(page.status_code, page.headers.get("Location")) for page in pages] == [(302, "/")] * 3


@pytest.mark.parametrize("next_url", ["0", "last", "//evil.example/"])
def test_a_sign_in_started_with_a_next_that_is_not_a_path_lands_on_the_dashboard(portal, next_url):
    _, response = sign_in(portal, SOFIE, next_url=next_url)

    assert response.status_code == 200 and response.url == f"{portal.url}/"


def test_a_next_path_is_still_followed(portal):
    browser, _ = sign_in(portal, SOFIE)

    page = browser.get(f"{portal.url}/accounts/sign-in/?next=/office/", allow_redirects=False, timeout=30)

    assert page.headers["Location"] == "/office/"


def test_an_error_in_the_callback_cannot_forge_log_lines(portal, caplog):
    forged = "server_error\n2026-01-01 WARNING accounts.views Clearfacts sign-in failed: nothing, all fine"
    with caplog.at_level(logging.WARNING, logger="accounts"):
        response = requests.get(f"{portal.url}/accounts/oidc/callback/", params={"error": forged}, timeout=30)

    assert failure_reason(response) == "provider_error"
    logged = [record.getMessage() for record in caplog.records if record.name.startswith("accounts")]
    assert logged and not any("\n" in line for line in logged)
    assert any("server_error\\n2026" in line for line in logged), "the value is kept, escaped"


def test_a_rejected_client_secret_is_a_configuration_problem_logged_for_the_operator(portal, caplog):
    with override_settings(OIDC_RP_CLIENT_SECRET="rotated-at-clearfacts"), caplog.at_level(logging.WARNING):
        browser, response = sign_in(portal, SOFIE)

    assert response.status_code == 503
    assert failure_reason(response) == "client_rejected"
    assert "configuration problem" in response.text and "expired or was already used" not in response.text
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert any("invalid_client" in line and settings.OIDC_RP_CLIENT_ID in line for line in errors)
    assert not any("rotated-at-clearfacts" in record.getMessage() for record in caplog.records)
    assert not User.objects.exists()


def test_an_issuer_with_a_trailing_slash_signs_in(portal):
    issuer = f"{portal.issuer}/"
    with override_settings(SANDBOX_OIDC_ISSUER_TRAILING_SLASH=True, CLEARFACTS_OIDC_ISSUER=issuer):
        discovered = requests.get(f"{portal.issuer}/.well-known/openid-configuration", timeout=10).json()
        _, response = sign_in(portal, SOFIE)

    assert discovered["issuer"] == issuer
    assert response.url == f"{portal.url}/" and failure_reason(response) is None
    assert User.objects.get().oidc_issuer == issuer


def test_the_configured_issuer_keeps_its_trailing_slash(monkeypatch):
    monkeypatch.setenv("CLEARFACTS_OIDC_ISSUER", "https://login.clearfacts.example/")

    assert env_url("CLEARFACTS_OIDC_ISSUER", "", exact=True) == "https://login.clearfacts.example/"
    assert env_url("CLEARFACTS_OIDC_ISSUER", "") == "https://login.clearfacts.example"


def test_the_first_message_after_sign_in_speaks_the_users_language(portal):
    browser = requests.Session()
    browser.get(f"{portal.url}/accounts/sign-in/", timeout=30)
    browser.post(
        f"{portal.url}/i18n/setlang/",
        data={"language": "fr", "next": "/", "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        timeout=30,
    )  # the previous user of this browser spoke French; An speaks Dutch (nl-BE)

    _, response = sign_in(portal, AN, browser=browser)

    assert 'lang="nl"' in response.text
    assert "u hebt toegang tot 1 administratie" in response.text
    assert "À jour avec Clearfacts" not in response.text
