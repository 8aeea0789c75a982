"""Sign in with Clearfacts: mozilla-django-oidc's code flow, made strict where it is lenient.

mozilla-django-oidc brings the flow (state, nonce and PKCE kept in the session, the callback,
login). Its backend does not check the issuer or the audience, knows nothing of discovery,
defaults to HS256, turns a missing `kid` or an expired token into a 500 and matches users by
e-mail. Here: endpoints and keys come from accounts.provider, id_tokens are verified there, and
users are matched on (issuer, sub). Every refusal raises a provider.SignInError, which the
callback view turns into a friendly page.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts import credentials, provider

logger = logging.getLogger(__name__)

LANGUAGES_BY_PREFIX = {"nl": "nl", "fr": "fr", "en": "en"}


def language_of(locale: str) -> str | None:
    """nl-BE → nl, fr-BE → fr, en → en; None for a language the portal does not speak."""
    return LANGUAGES_BY_PREFIX.get((locale or "").replace("_", "-").split("-")[0].lower())


class ClearfactsOIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # The parent reads endpoint settings here; ours come from the discovery document.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self._token_response = None

    def get_user(self, user_id):
        """The signed-in user of each request, with their membership, office and Clearfacts
        credential in the same query: nearly every page asks for the office (tenancy, the navigation),
        and accounts.middleware checks the credential on every page."""
        try:
            return self.UserModel.objects.select_related("membership__office", "clearfacts_credential").get(pk=user_id)
        except self.UserModel.DoesNotExist:
            return None

    def get_token(self, payload):
        self._token_response = provider.exchange_code(
            code=payload["code"], redirect_uri=payload["redirect_uri"], code_verifier=payload.get("code_verifier")
        )
        if not isinstance(self._token_response.get("id_token"), str):
            raise provider.InvalidToken("the token response has no id_token")
        return self._token_response

    def verify_token(self, token, **kwargs):
        return provider.verify_id_token(token, nonce=kwargs.get("nonce"))

    def store_tokens(self, access_token, id_token):
        pass  # kept encrypted in the database once the user is known (get_or_create_user)

    def get_userinfo(self, access_token, id_token, payload):
        claims = provider.userinfo(access_token)
        if claims.get("sub") != payload["sub"]:
            raise provider.InvalidToken("userinfo is about another subject than the id_token")
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload) | {"sub": payload["sub"]}
        same_person = self.UserModel.objects.filter(
            oidc_issuer=settings.CLEARFACTS_OIDC_ISSUER, oidc_subject=payload["sub"]
        )
        user = same_person.first()
        try:
            with transaction.atomic():
                user = self.update_user(user, claims) if user else self.create_user(claims)
        except IntegrityError:  # their sign-in in another tab created them a moment ago
            user = self.update_user(same_person.get(), claims)
        credentials.credential_store(
            user=user,
            token_response=self._token_response,
            requested_scopes=self.request.session.get("oidc_requested_scope", ""),
        )
        return user

    def create_user(self, claims):
        digest = hashlib.sha256(f"{settings.CLEARFACTS_OIDC_ISSUER} {claims['sub']}".encode()).hexdigest()
        user = self.UserModel(
            username=f"cf-{digest[:24]}",
            oidc_issuer=settings.CLEARFACTS_OIDC_ISSUER,
            oidc_subject=claims["sub"],
        )
        user.set_unusable_password()
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        """Name, e-mail, username and locale follow Clearfacts at every sign-in."""
        user.display_name = claims.get("name") or user.display_name
        user.first_name = claims.get("given_name") or user.first_name
        user.last_name = claims.get("family_name") or user.last_name
        user.email = claims.get("email") or user.email
        user.clearfacts_username = claims.get("username") or claims.get("preferred_username") or ""
        user.locale = claims.get("locale") or user.locale
        user.save()
        return user
