"""Talking to the sandbox over a real socket: the live server, seeded, and a browserless user."""

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.test import override_settings

from sandbox.clearfacts.bearer import create_personal_token
from sandbox.clearfacts.models import ClearfactsUser, OAuthClient
from sandbox.clearfacts.seed import DEMO_PASSWORD
from sandbox.clearvo.seed import seed as seed_clearvo
from tests.personas import AN, BAKKERIJ, BOULANGERIE, BROUWERIJ, MARC, SOFIE  # noqa: F401 (imported from here)
from tests.sandbox.clearvo_support import Clearvo

TEST_CLIENT_ID = "test-client"
TEST_CLIENT_SECRET = "test-client-secret"

# Seeded people and companies (tests/personas.py), by their part in these tests.
ASSOCIATE = SOFIE  # admin, sees all of office 1
CLIENT_AN = AN  # sees Bakkerij Maes only
OTHER_OFFICE = MARC


@dataclass
class Sandbox:
    base: str

    @property
    def issuer(self) -> str:
        return f"{self.base}/sandbox/clearfacts"

    @property
    def graphql_url(self) -> str:
        return f"{self.base}/sandbox/clearfacts/graphql"

    @property
    def redirect_uri(self) -> str:
        return f"{self.base}/test-callback/"


@pytest.fixture
def sandbox(live_server, transactional_db, seeded_sandbox):
    seeded_sandbox.restore()
    client = OAuthClient.objects.create(
        client_id=TEST_CLIENT_ID, name="Test application", redirect_uris=f"{live_server.url}/test-callback/"
    )
    client.set_secret(TEST_CLIENT_SECRET)
    client.save()
    return Sandbox(live_server.url)


def sandbox_login(http: requests.Session, sandbox: Sandbox, username: str, password: str = DEMO_PASSWORD):
    """Logs in to the simulated Clearfacts through its login form, as a browser would."""
    login_url = f"{sandbox.issuer}/login/"
    page = http.get(login_url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    return http.post(
        login_url,
        data={"csrfmiddlewaretoken": token, "username": username, "password": password},
        headers={"Referer": login_url},
    )


def authorize(http: requests.Session, url: str) -> str:
    """Follows an authorization URL as a signed-in browser; returns where the provider sends it.

    The consent page is answered with "allow" when the provider asks for it.
    """
    response = http.get(url, allow_redirects=False)
    if response.status_code == 302:
        return response.headers["Location"]
    return consent(http, response)


def consent(http: requests.Session, authorize_response: requests.Response, decision: str = "allow") -> str:
    """Answers the consent page; returns the Location the provider redirects to."""
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', authorize_response.text)[1]
    response = http.post(
        authorize_response.url,
        data={"csrfmiddlewaretoken": token, "decision": decision},
        headers={"Referer": authorize_response.url},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return response.headers["Location"]


def query_params(url: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def personal_token(username: str, *scopes: str) -> str:
    _, raw = create_personal_token(user=ClearfactsUser.objects.get(username=username), name="test", scopes=list(scopes))
    return raw


def graphql(sandbox: Sandbox, token: str | None, query: str, variables=None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        sandbox.graphql_url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=30, **kwargs
    )


@pytest.fixture
def clearvo(live_server):
    """The simulated Clearvo with its seeded keys, at the spec's speed and without faults."""
    seed_clearvo()
    with override_settings(SANDBOX_TIME_FACTOR=1.0, SANDBOX_FAULT_RATE=0.0, SANDBOX_LATENCY_MS=0):
        yield Clearvo(f"{live_server.url}/sandbox/clearvo/v1", settings.SANDBOX_CLEARVO_TEST_KEY)
