"""The portal wired to its sandbox on one live server, and a browser that signs in through it.

`portal` (the fixture below) points the portal's Clearfacts settings at the live server's
sandbox, seeds it (tests/seeded.py) and registers the live server's callback URL. `sign_in()` drives the real
flow: the portal's start URL, the sandbox's login page, its consent page, the portal's callback.
"""

import re
from dataclasses import dataclass
from urllib.parse import urljoin

import pytest
import requests
from django.core.cache import cache
from django.test import override_settings

from sandbox.clearfacts.models import OAuthClient
from sandbox.clearfacts.seed import DEMO_PASSWORD

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Portal:
    url: str

    @property
    def issuer(self) -> str:
        return f"{self.url}/sandbox/clearfacts"


@pytest.fixture
def portal(live_server, transactional_db, settings, seeded_sandbox):
    issuer = f"{live_server.url}/sandbox/clearfacts"
    overrides = override_settings(
        CLEARFACTS_OIDC_ISSUER=issuer,
        CLEARFACTS_GRAPHQL_URL=f"{issuer}/graphql",
        CLEARVO_API_URL=f"{live_server.url}/sandbox/clearvo/v1",
    )
    overrides.enable()
    cache.clear()  # discovery and JWKS of the previous test's sandbox (its keys are gone)
    seeded_sandbox.restore()
    client = OAuthClient.objects.get(client_id=settings.OIDC_RP_CLIENT_ID)
    client.redirect_uris = f"{live_server.url}/accounts/oidc/callback/"
    client.save()
    yield Portal(live_server.url)
    overrides.disable()


def csrf_token(html: str) -> str:
    return CSRF.search(html)[1]


def sign_in(portal: Portal, username: str, *, browser=None, next_url=None, decision="allow", password=DEMO_PASSWORD):
    """Signs in to the portal with Clearfacts the way a browser does; returns (browser, last response)."""
    browser = browser or requests.Session()
    start = f"{portal.url}/accounts/oidc/start/" + (f"?next={next_url}" if next_url else "")
    response = browser.get(start, timeout=30)
    if "/sandbox/clearfacts/login/" in response.url:
        response = browser.post(
            response.url,
            data={"csrfmiddlewaretoken": csrf_token(response.text), "username": username, "password": password},
            headers={"Referer": response.url},
            timeout=30,
        )
    if 'name="decision"' in response.text:  # the consent page
        response = browser.post(
            response.url,
            data={"csrfmiddlewaretoken": csrf_token(response.text), "decision": decision},
            headers={"Referer": response.url},
            timeout=30,
        )
    return browser, response


def authorization_redirect(portal: Portal, username: str, browser=None):
    """Runs the flow up to the provider's redirect back to the portal, without following it.

    Returns (browser, callback URL with code and state) so a test can replay or tamper with it.
    """
    browser = browser or requests.Session()
    callback = f"{portal.url}/accounts/oidc/callback/"
    response = browser.get(f"{portal.url}/accounts/oidc/start/", timeout=30, allow_redirects=False)
    url = response.headers["Location"]
    while not url.startswith(callback):
        response = browser.get(url, timeout=30, allow_redirects=False)
        if "/sandbox/clearfacts/login/" in response.url and response.status_code == 200:
            form = {"username": username, "password": DEMO_PASSWORD}
        elif response.status_code == 200:  # the consent page
            form = {"decision": "allow"}
        else:
            url = urljoin(response.url, response.headers["Location"])
            continue
        response = browser.post(
            response.url,
            data={"csrfmiddlewaretoken": csrf_token(response.text), **form},
            headers={"Referer": response.url},
            timeout=30,
            allow_redirects=False,
        )
        url = urljoin(response.url, response.headers["Location"])
    return browser, url
