"""Clearfacts as an OpenID Connect provider: discovery, keys, tokens and id_token verification.

Endpoints come from `{CLEARFACTS_OIDC_ISSUER}/.well-known/openid-configuration`, fetched once,
cached, and fetched again when an endpoint fails. The issuer is compared exactly as configured,
trailing slash included (OpenID Connect Discovery §4.3). Signing keys come from its JWKS; a `kid` not
yet known triggers one refetch, so a key rotation at Clearfacts needs nothing from us.
"""

import logging
import time
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from urllib3.exceptions import NewConnectionError

from portal.http import ExternalSession

logger = logging.getLogger(__name__)

CACHE_SECONDS = 24 * 60 * 60
CLOCK_SKEW = 60
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")


class SignInError(Exception):
    """Sign-in cannot go on. `reason` picks the message shown; the text is for the log only."""

    reason = "failed"


class ProviderUnreachable(SignInError):
    reason = "provider_unreachable"


class CodeRejected(SignInError):
    """The token endpoint refused the code: expired, already used, or not ours."""

    reason = "code_rejected"


class InvalidToken(SignInError):
    reason = "invalid_token"


class ClientRejected(SignInError):
    """The provider does not accept our client id or secret: a configuration problem, not the user's."""

    reason = "client_rejected"


class RefreshRefused(Exception):
    """Clearfacts refused the refresh token: the user must sign in again."""


_session = ExternalSession(user_agent="clearfacts-portal-oidc")


def _cache_key(name: str) -> str:
    return f"oidc:{name}:{settings.CLEARFACTS_OIDC_ISSUER}"


def _get_json(url: str, *, timeout=None) -> dict:
    try:
        response = _session.get(url, **({"timeout": timeout} if timeout else {}))
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnreachable(f"GET {url} failed: {error.__class__.__name__}") from error


def configuration(*, refresh: bool = False, timeout=None) -> dict:
    """The provider's discovery document, checked against the configured issuer."""
    key = _cache_key("configuration")
    document = None if refresh else cache.get(key)
    if document is None:
        issuer = settings.CLEARFACTS_OIDC_ISSUER
        document = _get_json(f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=timeout)
        if document.get("issuer") != issuer or not all(document.get(name) for name in REQUIRED_ENDPOINTS):
            raise ProviderUnreachable("the discovery document is not the configured issuer's")
        cache.set(key, document, CACHE_SECONDS)
    return document


def _jwks(*, refresh: bool = False) -> jwt.PyJWKSet:
    key = _cache_key("jwks")
    keys = None if refresh else cache.get(key)
    if keys is None:
        keys = _get_json(configuration()["jwks_uri"])
        cache.set(key, keys, CACHE_SECONDS)
        cache.set(_cache_key("jwks-fetched"), time.time(), CACHE_SECONDS)
    try:
        return jwt.PyJWKSet.from_dict(keys)
    except jwt.PyJWKSetError as error:
        raise ProviderUnreachable("the provider's JWKS has no usable key") from error


def signing_key(kid: str | None) -> jwt.PyJWK:
    keys = _jwks()
    if kid is None:
        if len(keys.keys) == 1:
            return keys.keys[0]
        raise InvalidToken("id_token without kid while the JWKS has several keys")
    for candidate in keys.keys:
        if candidate.key_id == kid:
            return candidate
    last_fetch = cache.get(_cache_key("jwks-fetched")) or 0
    # At most one refetch per interval, so forged kids cannot make us flood Clearfacts.
    if time.time() - last_fetch >= settings.OIDC_JWKS_REFETCH_INTERVAL:
        for candidate in _jwks(refresh=True).keys:
            if candidate.key_id == kid:
                return candidate
    raise InvalidToken(f"id_token signed with unknown key {kid!r}")


def verify_id_token(id_token: str, *, nonce: str | None) -> dict:
    """The claims of an RS256 id_token signed by the provider, for this client, current, with our nonce."""
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as error:  # DecodeError, or InvalidTokenError for a kid that is not a string
        raise InvalidToken("malformed id_token") from error
    if header.get("alg") != "RS256":
        raise InvalidToken(f"id_token algorithm {header.get('alg')!r} refused")
    key = signing_key(header.get("kid"))
    try:
        claims = jwt.decode(
            id_token,
            key=key,
            algorithms=["RS256"],
            audience=settings.OIDC_RP_CLIENT_ID,
            issuer=settings.CLEARFACTS_OIDC_ISSUER,
            leeway=CLOCK_SKEW,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(f"id_token refused: {error.__class__.__name__}: {error}") from error
    if isinstance(claims["aud"], list) and len(claims["aud"]) > 1 and claims.get("azp") != settings.OIDC_RP_CLIENT_ID:
        raise InvalidToken("id_token for several audiences without our azp")
    if nonce is None or claims.get("nonce") != nonce:
        raise InvalidToken("id_token nonce does not match the one we sent")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise InvalidToken("id_token without a subject")
    return claims


def _never_arrived(error: requests.RequestException) -> bool:
    """True when the request cannot have reached the provider, so sending it again is safe.

    A grant (code or refresh token) is single-use: after a read timeout or a dropped connection the
    provider may have spent it, and a second attempt would be refused.
    """
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = error.args[0].reason if error.args and hasattr(error.args[0], "reason") else None
    return isinstance(error, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def _token_request(data: dict) -> requests.Response:
    """POSTs a grant to the token endpoint; once more, with fresh discovery, if it never arrived."""
    data = data | {"client_id": settings.OIDC_RP_CLIENT_ID, "client_secret": settings.OIDC_RP_CLIENT_SECRET}
    for attempt in range(2):
        try:
            response = _session.post(configuration(refresh=bool(attempt))["token_endpoint"], data=data)
        except requests.RequestException as error:
            if attempt or not _never_arrived(error):
                raise ProviderUnreachable(f"token endpoint failed: {error.__class__.__name__}") from error
            continue
        if response.status_code != 404 or attempt:
            return response
    raise AssertionError("unreachable")


def _token_error(response: requests.Response) -> str:
    """The OAuth error code of a refusal (for the log, where it is quoted)."""
    try:
        error = response.json().get("error", "")
    except (ValueError, AttributeError):
        return ""
    return str(error)[:100]


def _client_rejected(response: requests.Response) -> bool:
    """The provider refused our client id or secret; the operator must fix the configuration."""
    if response.status_code == 200 or _token_error(response) != "invalid_client":
        return False
    logger.error(
        "Clearfacts rejected the portal's client credentials (invalid_client) for client id %r: check "
        "OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET",
        settings.OIDC_RP_CLIENT_ID,
    )
    return True


def exchange_code(*, code: str, redirect_uri: str, code_verifier: str | None) -> dict:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        data["code_verifier"] = code_verifier
    response = _token_request(data)
    if response.status_code >= 500:
        raise ProviderUnreachable(f"token endpoint answered {response.status_code}")
    if _client_rejected(response):
        raise ClientRejected(f"token endpoint answered {response.status_code} invalid_client")
    if response.status_code != 200:
        raise CodeRejected(f"token endpoint answered {response.status_code} {_token_error(response)!r}")
    return _token_response(response)


def refresh(refresh_token: str) -> dict:
    """A new token pair for a refresh token; the one given is spent (rotation)."""
    response = _token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderUnreachable(f"token endpoint answered {response.status_code}")
    if _client_rejected(response):
        # Our configuration, not the user's grant: the refresh token stays theirs for when it is fixed.
        raise ProviderUnreachable("token endpoint refused the portal's client credentials")
    if response.status_code != 200:
        raise RefreshRefused(f"refresh refused: {response.status_code} {_token_error(response)!r}")
    return _token_response(response)


def _token_response(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError as error:
        raise ProviderUnreachable("the token endpoint did not answer JSON") from error
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise ProviderUnreachable("the token response has no access token")
    return body


def userinfo(access_token: str) -> dict:
    try:
        response = _session.get(
            configuration()["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}
        )
    except requests.RequestException as error:
        raise ProviderUnreachable(f"userinfo failed: {error.__class__.__name__}") from error
    if response.status_code == 401:
        raise InvalidToken("userinfo refused the access token just issued")
    if response.status_code != 200:
        raise ProviderUnreachable(f"userinfo answered {response.status_code}")
    try:
        claims = response.json()
    except ValueError as error:
        raise ProviderUnreachable("userinfo did not answer JSON") from error
    if not isinstance(claims, dict):
        raise ProviderUnreachable("userinfo did not answer an object")
    return claims


def sign_out_configuration() -> dict:
    """The discovery document for signing out: cached, else fetched within OIDC_REVOCATION_TIMEOUT.

    Without it the provider's session and tokens would outlive the sign-out, and the next person at
    the same browser would be signed in as the previous one. A provider found unreachable is not
    asked again for half a minute, so one sign-out waits for it once; {} when it cannot be had.
    """
    document = cache.get(_cache_key("configuration"))
    if document is not None or cache.get(_cache_key("unreachable-at-sign-out")):
        return document or {}
    try:
        return configuration(timeout=settings.OIDC_REVOCATION_TIMEOUT)
    except SignInError as error:
        logger.warning("no discovery document at sign-out: %r", str(error))
        cache.set(_cache_key("unreachable-at-sign-out"), True, 30)
        return {}


def revoke(token: str, *, kind: str) -> bool:
    """Asks the provider to revoke a token (RFC 7009), if it offers revocation; True if it confirmed.

    Best effort within settings.OIDC_REVOCATION_TIMEOUT: sign-out must neither wait for a slow
    provider nor fail when it is down.
    """
    endpoint = sign_out_configuration().get("revocation_endpoint")
    if not endpoint or not token:
        return False
    data = {
        "token": token,
        "token_type_hint": kind,
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "client_secret": settings.OIDC_RP_CLIENT_SECRET,
    }
    try:
        response = _session.post(endpoint, data=data, timeout=settings.OIDC_REVOCATION_TIMEOUT)
    except requests.RequestException as error:
        logger.warning("token revocation failed: %s", error.__class__.__name__)
        return False
    if response.status_code != 200:
        logger.warning("token revocation answered %s %r", response.status_code, _token_error(response))
        return False
    return True


def end_session_url(*, post_logout_redirect_uri: str) -> str | None:
    """Where to end the user's session at the provider (RP-initiated logout), if it offers that."""
    endpoint = sign_out_configuration().get("end_session_endpoint")
    if not endpoint:
        return None
    query = urlencode({"client_id": settings.OIDC_RP_CLIENT_ID, "post_logout_redirect_uri": post_logout_redirect_uri})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
