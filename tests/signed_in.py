"""Someone signed in, without the sign-in: a sandbox person with a sandbox token, as the callback leaves them.

The whole OpenID Connect code flow (login page, consent, code, token, id_token, userinfo) is what
tests/accounts and tests/browser exercise, through tests.portal_site.sign_in and a real browser.
Most other tests only need someone signed in, and get it here for a fraction of the cost: the
sandbox issues the tokens its token endpoint would issue to the portal for that person, the portal
stores them, creates the user and runs the sync exactly as its callback does, and the Django
session of that user goes into a requests.Session, which then lands on the dashboard.
"""

import io
from http.cookiejar import eff_request_host
from urllib.request import Request

import pytest
import requests
from django.conf import settings
from django.test import Client
from requests.cookies import create_cookie

from accounts import credentials
from accounts.models import User
from accounts.oidc import ClearfactsOIDCBackend, language_of
from clearfacts_app import client
from clearfacts_app.documents import documents_resume
from clearfacts_app.sync import sync_user
from sandbox.clearfacts import oauth
from sandbox.clearfacts.models import ClearfactsUser
from tests import samples
from tests.factories import issue_token
from tests.personas import AN, SOFIE

OIDC_BACKEND = "accounts.oidc.ClearfactsOIDCBackend"


def portal_user(person: ClearfactsUser, token: dict) -> User:
    """The portal's user for `person` with the token stored, made and updated as the sign-in does (accounts/oidc.py)."""
    claims = oauth.userinfo_claims(person, token["scope"])
    backend = ClearfactsOIDCBackend()
    user = User.objects.filter(oidc_issuer=settings.CLEARFACTS_OIDC_ISSUER, oidc_subject=claims["sub"]).first()
    user = backend.update_user(user, claims) if user else backend.create_user(claims)
    credentials.credential_store(user=user, token_response=token, requested_scopes=token["scope"])
    return user


def set_cookie(browser: requests.Session, url: str, name: str, value: str) -> None:
    """A cookie as the site at `url` would set it, so the site's own Set-Cookie later replaces it."""
    browser.cookies.set_cookie(create_cookie(name, value, domain=eff_request_host(Request(url))[1]))


def sign_in_directly(portal, username: str, *, language: str | None = None, scope: str | None = None):
    """`username` (a seeded sandbox person) signed in to the portal: a requests.Session on the dashboard.

    `language` is the interface language (the callback's choice, from the person's Clearfacts locale,
    when None); `scope` what the portal asked for (OIDC_RP_SCOPES when None). The session carries
    `portal` (the site's URL) and `user` (the portal's User).
    """
    person = ClearfactsUser.objects.get(username=username)
    user = portal_user(person, issue_token(person, scope))
    sync_user(user=user)
    documents_resume(user_id=user.pk)

    django_client = Client()
    django_client.force_login(user, backend=OIDC_BACKEND)
    browser = requests.Session()
    set_cookie(
        browser, portal.url, settings.SESSION_COOKIE_NAME, django_client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    if language := language or language_of(user.locale):
        set_cookie(browser, portal.url, settings.LANGUAGE_COOKIE_NAME, language)
    landed = browser.get(f"{portal.url}/", timeout=30)  # also gives the CSRF cookie, as the dashboard does
    assert landed.status_code == 200 and landed.url == f"{portal.url}/", (landed.status_code, landed.url)
    browser.portal, browser.user = portal.url, user
    return browser


def in_english(browser: requests.Session, portal) -> requests.Session:
    """A session signed in through tests.portal_site.sign_in (in the person's language), switched to English."""
    set_cookie(browser, portal.url, settings.LANGUAGE_COOKIE_NAME, "en")  # what the language menu sets
    browser.portal = portal.url
    return browser


def uploaded_to_clearfacts(user: User, company_number: str) -> dict:
    """A one-page PDF put straight into an administration's Clearfacts inbox with the user's token."""
    return client.upload(
        user=user,
        operation="UploadFile",
        variables={"vatnumber": company_number, "filename": "invoice.pdf", "invoicetype": "PURCHASE"},
        stream=io.BytesIO(samples.pdf()),
        filename="invoice.pdf",
        content_type="application/pdf",
    )


@pytest.fixture
def sofie(portal):
    """Sofie Vandenberghe (ADMIN associate, sees all seven administrations of her office), reading English."""
    return sign_in_directly(portal, SOFIE, language="en")


@pytest.fixture
def manager(portal):
    """Sofie, who also let the portal manage associates (the scope associate_actions), reading English."""
    return sign_in_directly(portal, SOFIE, language="en", scope=f"{settings.OIDC_RP_SCOPES} associate_actions")


@pytest.fixture
def an(portal):
    """An Maes (client user of Bakkerij Maes only), reading English."""
    return sign_in_directly(portal, AN, language="en")


@pytest.fixture
def browser(an, live_worker):
    """An, with a real Celery worker sending her uploads to the sandbox (`browser.worker`)."""
    an.worker = live_worker
    return an
