"""Error pages in the site's layout, translated: in production and in the embedded run (DEBUG=1)."""

import logging
import re

import pytest
from django.conf import settings
from django.test import Client

from clearfacts_app.models import Administration
from tests.factories import make_invoice

DEBUG_PAGE = "DEBUG = True"


@pytest.fixture
def embedded(settings):
    """The embedded run: `make run` has DEBUG=1 (pytest-django turns it off for the tests)."""
    settings.DEBUG = True


def assert_site_page(response, status, text):
    assert response.status_code == status
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert 'data-testid="error-page"' in response.text and 'class="navbar' in response.text
    assert text in response.text
    assert DEBUG_PAGE not in response.text and "urlpatterns" not in response.text


@pytest.mark.usefixtures("embedded")
def test_an_unknown_address_shows_the_sites_404_page_in_the_embedded_run(client, db):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="nl")

    assert_site_page(response, 404, "Pagina niet gevonden")
    assert "accounts/" not in response.text.split("<main", 1)[1], "no list of URL patterns"


@pytest.mark.usefixtures("embedded")
@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"path": "/accounts/sign-in/", "HTTP_HOST": "evil.example"},
        {"path": "/i18n/setlang/", "method": "post", "data": {f"field{n}": "x" for n in range(1100)}},
    ],
    ids=["foreign host", "too many fields"],
)
def test_a_bad_request_shows_the_sites_400_page_not_the_debug_page_in_the_embedded_run(db, request_kwargs):
    kwargs = dict(request_kwargs)
    method, path = kwargs.pop("method", "get"), kwargs.pop("path")

    response = getattr(Client(), method)(path, HTTP_ACCEPT_LANGUAGE="en", **kwargs)

    assert response.status_code == 400
    assert DEBUG_PAGE not in response.text and "SECRET_KEY" not in response.text and "Traceback" not in response.text
    assert 'data-testid="error-page"' in response.text


@pytest.mark.usefixtures("embedded")
def test_another_tenants_administration_shows_the_sites_404_page_in_the_embedded_run(client, outsider, administration):
    client.force_login(outsider)

    response = client.get(f"/administrations/{administration.company_number}/", HTTP_ACCEPT_LANGUAGE="en")

    assert_site_page(response, 404, "This page does not exist, or you do not have access to it.")
    assert Administration.objects.filter(pk=administration.pk).exists()


@pytest.mark.usefixtures("embedded")
@pytest.mark.urls("tests.portal.error_urls")
def test_a_bug_shows_the_sites_500_page_and_is_logged_with_its_traceback(db, caplog):
    client = Client(raise_request_exception=False)

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/broken/", HTTP_ACCEPT_LANGUAGE="fr")

    assert_site_page(response, 500, "Un problème est survenu de notre côté.")
    assert re.search(r'name="csrfmiddlewaretoken" value="\w{20,}"', response.text), "the language menu can post"
    logged = [record for record in caplog.records if record.name == "django.request"]
    assert logged and logged[0].exc_info and "a bug in a view" in str(logged[0].exc_info[1])


@pytest.mark.usefixtures("embedded")
@pytest.mark.urls("tests.portal.error_urls")
def test_a_client_that_does_not_ask_for_html_gets_no_debug_traceback_either(db):
    response = Client(raise_request_exception=False).get("/broken/", HTTP_ACCEPT="application/json")

    assert_site_page(response, 500, "Something went wrong on our side.")


@pytest.mark.usefixtures("embedded")
def test_the_sandbox_apis_json_errors_are_left_alone_in_the_embedded_run(client, db):
    response = client.get("/sandbox/clearvo/v1/no-such-route")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "No route GET /no-such-route" in response.text


def test_a_bad_host_header_gets_the_400_page_in_the_sites_layout(client, db):
    response = client.get("/", HTTP_HOST="attacker.example", HTTP_ACCEPT_LANGUAGE="nl")

    assert_site_page(response, 400, "Het portaal kon deze aanvraag niet begrijpen.")
    assert '<html lang="nl">' in response.text


def test_a_form_without_its_csrf_token_gets_the_403_page_in_the_sites_layout(db):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/i18n/setlang/", {"language": "fr"}, HTTP_ACCEPT_LANGUAGE="fr")

    assert_site_page(response, 403, "Ce formulaire n'a pas pu être envoyé en toute sécurité.")
    assert '<html lang="fr">' in response.text
    assert "csrftoken" in response.cookies, "a fresh token, so that the reloaded form works"


def test_a_get_on_an_address_only_a_form_posts_to_gets_the_405_page_in_the_sites_layout(client, member, administration):
    """The language menu sends the browser back to the page's address with a GET: a page that a form
    answered (a POST) then gets the site's page saying what to do, not the browser's bare error."""
    invoice = make_invoice(administration, member)
    client.force_login(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    response = client.get(f"/administrations/{administration.company_number}/invoices/{invoice.pk}/duplicate/")

    assert_site_page(response, 405, "Cette page ne répond qu'à un formulaire\u00a0: revenez en arrière")
    assert response["Allow"] == "POST"
    assert '<html lang="fr">' in response.text and "405" in response.text
