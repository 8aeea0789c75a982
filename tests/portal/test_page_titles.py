import pytest
from django.conf import settings

from tests.factories import make_administration


def title(response) -> str:
    html = response.content.decode()
    return html.split("<title>", 1)[1].split("</title>", 1)[0]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Dashboard · Clearfacts portal"),
        ("nl", "Dashboard · Clearfacts-portaal"),
        ("fr", "Tableau de bord · Portail Clearfacts"),
    ],
)
def test_a_page_title_names_the_page_then_the_portal(client, owner, language, expected):
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    assert title(client.get("/")) == expected


def test_the_sign_in_page_has_its_title_too(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    assert title(client.get("/accounts/sign-in/")) == "Sign in · Clearfacts portal"


def test_a_name_in_the_title_is_escaped_once(client, owner, office):
    administration = make_administration(office, "Slagerij Janssens & Zonen VOF")
    owner.administration_accesses.create(administration=administration)
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(f"/administrations/{administration.company_number}/")

    assert title(response) == "Slagerij Janssens &amp; Zonen VOF · Clearfacts portal"
