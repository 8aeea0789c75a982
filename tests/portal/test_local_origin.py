"""Whichever of the addresses the development server prints a user opens, sign-in completes."""

import pytest
import requests

from sandbox.clearfacts.models import OAuthClient
from tests.personas import AN
from tests.portal_site import Portal, sign_in


def loopback_address(portal) -> str:
    """The live server as runserver prints it: http://127.0.0.1:PORT, while SITE_URL says localhost."""
    assert portal.url.startswith("http://localhost:")
    return portal.url.replace("localhost", "127.0.0.1")


@pytest.fixture
def both_callbacks_registered(portal, settings):
    """Like `make run`'s seed, the sandbox accepts the callback on either address."""
    client = OAuthClient.objects.get(client_id=settings.OIDC_RP_CLIENT_ID)
    client.redirect_uris += "\n" + f"{loopback_address(portal)}/accounts/oidc/callback/"
    client.save()


@pytest.mark.usefixtures("both_callbacks_registered")
def test_signing_in_from_127_0_0_1_completes_on_the_sites_own_address(portal):
    browser, dashboard = sign_in(Portal(loopback_address(portal)), AN)

    assert dashboard.status_code == 200
    assert dashboard.url == f"{portal.url}/"
    assert 'data-testid="user-menu"' in dashboard.text


def test_a_page_on_127_0_0_1_is_redirected_to_the_same_path_on_localhost(portal):
    response = requests.get(
        f"{loopback_address(portal)}/accounts/sign-in/?next=/documents/", allow_redirects=False, timeout=10
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"{portal.url}/accounts/sign-in/?next=/documents/"


def test_a_form_posted_to_127_0_0_1_keeps_its_method(portal):
    response = requests.post(
        f"{loopback_address(portal)}/i18n/setlang/", data={"language": "fr"}, allow_redirects=False, timeout=10
    )

    assert response.status_code == 307
    assert response.headers["Location"] == f"{portal.url}/i18n/setlang/"


def test_the_health_check_answers_on_127_0_0_1(portal):
    response = requests.get(f"{loopback_address(portal)}/healthz", allow_redirects=False, timeout=10)

    assert response.status_code == 200
