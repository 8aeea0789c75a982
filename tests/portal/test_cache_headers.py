"""Pages built from a session say `Cache-Control: private, no-store`; static files and /healthz are left alone."""

import pytest
import requests

from tests.personas import BAKKERIJ

HTMX = {"HX-Request": "true"}


def cache_control(response) -> set[str]:
    return {
        directive.strip() for directive in response.headers.get("Cache-Control", "").split(",") if directive.strip()
    }


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/", {}),
        ("/administrations/", {}),
        ("/administrations/?sort=-name", HTMX),
        (f"/administrations/{BAKKERIJ}/", {}),
        (f"/administrations/{BAKKERIJ}/journals/", {}),
        (f"/administrations/{BAKKERIJ}/journals/", HTMX),
        (f"/administrations/{BAKKERIJ}/documents/", HTMX),
        ("/documents/", {}),
        ("/office/", {}),
        ("/administrations/0665048133/", {}),  # another office's: a 404, still about this user
    ],
)
def test_every_page_and_partial_for_a_signed_in_user_is_private_and_not_stored(portal, sofie, path, headers):
    response = sofie.get(f"{portal.url}{path}", headers=headers, timeout=30)

    assert response.status_code in (200, 404), response.status_code
    assert {"private", "no-store"} <= cache_control(response), response.headers.get("Cache-Control")


def test_a_redirect_after_a_post_of_a_signed_in_user_is_private_too(portal, sofie):
    response = sofie.post(
        f"{portal.url}/i18n/setlang/",
        data={"language": "en", "next": "/", "csrfmiddlewaretoken": sofie.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=30,
    )

    assert response.status_code == 302
    assert {"private", "no-store"} <= cache_control(response)


def test_static_files_and_healthz_are_unaffected_by_a_signed_in_session(portal, sofie):
    anonymous = requests.Session()

    for path in ("/static/css/portal.css", "/static/img/favicon.svg"):
        response = sofie.get(f"{portal.url}{path}", timeout=30)
        assert response.status_code == 200
        assert "no-store" not in cache_control(response) and "private" not in cache_control(response)

    signed_in = sofie.get(f"{portal.url}/healthz", timeout=30)
    fresh = anonymous.get(f"{portal.url}/healthz", timeout=30)
    assert signed_in.headers["Cache-Control"] == fresh.headers["Cache-Control"]


def test_the_sign_in_page_of_a_fresh_visitor_is_not_marked_private(portal):
    response = requests.get(f"{portal.url}/accounts/sign-in/", timeout=30)

    assert response.status_code == 200
    assert "no-store" not in cache_control(response)
