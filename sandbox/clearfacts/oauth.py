"""The simulated Clearfacts OpenID Connect provider, built on authlib's authorization server.

authlib does the protocol (request validation, client authentication, PKCE, code exchange,
refresh grant, error responses); this module supplies Clearfacts' particulars:
- the access token is an RS256 JWT carrying sub, username, email and an inner 80-character
  token (either one is accepted as a Bearer token);
- with `offline_access`: one-hour access tokens and rotating 30-day refresh tokens; without it,
  long-lived access tokens;
- at most 10 active tokens per user and client: the least recently used is revoked;
- token revocation (RFC 7009): revoking a refresh token ends its access token too;
- with SANDBOX_OIDC_STRICT_OFFLINE_ACCESS, a standard provider as OpenID Connect Core §11 has it:
  offline_access granted only when the authorization request had prompt=consent (Clearfacts grants
  it without), and one-hour access tokens without it.
"""

import contextvars
import logging
import time
import uuid
from datetime import timedelta

from authlib.common.security import generate_token
from authlib.integrations.django_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from sandbox.clearfacts import keys
from sandbox.clearfacts.models import AccessToken, AuthorizationCode, ClearfactsUser, OAuthClient, token_hash

logger = logging.getLogger(__name__)

SHORT_LIVED = timedelta(hours=1)
LONG_LIVED = timedelta(days=365)
REFRESH_LIFETIME = timedelta(days=30)
CODE_LIFETIME = timedelta(minutes=10)
TOKEN_LIMIT = 10
TOKEN_LENGTH = 80
TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

# The issuer is this site's URL as the request reached it, so tests on any port work.
current_issuer: contextvars.ContextVar[str] = contextvars.ContextVar("sandbox_clearfacts_issuer")


def userinfo_claims(user: ClearfactsUser, scope: str) -> dict:
    """The claims of the spec's table, each only with its scope."""
    scopes = set(scope.split())
    claims = {"sub": str(user.subject), "username": user.username}
    if "profile" in scopes:
        claims.update(
            name=user.full_name,
            given_name=user.first_name,
            family_name=user.last_name,
            preferred_username=user.username,
            locale=user.locale,
        )
    if "email" in scopes:
        claims["email"] = user.email
    return claims


def generate_clearfacts_token(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True):
    scope = client.get_allowed_scope(scope)
    inner = generate_token(TOKEN_LENGTH)
    offline = "offline_access" in scope.split()
    # A strict (standard) provider has no long-lived tokens: one hour, and no refresh token without offline access.
    lifetime = SHORT_LIVED if offline or settings.SANDBOX_OIDC_STRICT_OFFLINE_ACCESS else LONG_LIVED
    now = int(time.time())
    claims = {
        "iss": current_issuer.get(),
        "aud": client.client_id,
        "sub": str(user.subject),
        "username": user.username,
        "email": user.email,
        "access_token": inner,
        "scope": scope,
        "iat": now,
        "exp": now + int(lifetime.total_seconds()),
        "jti": uuid.uuid4().hex,
    }
    token = {
        "token_type": "Bearer",
        "access_token": keys.sign(claims),
        "expires_in": int(lifetime.total_seconds()),
        "scope": scope,
    }
    if offline and include_refresh_token:
        token["refresh_token"] = generate_token(TOKEN_LENGTH)
    return token


def revoke_least_recently_used(*, user, client, limit=TOKEN_LIMIT) -> None:
    now = timezone.now()
    active = (
        AccessToken.objects.filter(user=user, client=client, kind=AccessToken.Kind.OIDC, revoked_at__isnull=True)
        .filter(Q(expires_at__gt=now) | Q(refresh_revoked_at__isnull=True, refresh_expires_at__gt=now))
        .order_by(Coalesce("last_used_at", "issued_at").desc(), "-pk")
    )
    stale = list(active.values_list("pk", flat=True)[limit:])
    if stale:
        AccessToken.objects.filter(pk__in=stale).update(revoked_at=now, refresh_revoked_at=now)
        logger.info("revoked %d least recently used tokens of %s for %s", len(stale), user, client)


class ClearfactsServer(AuthorizationServer):
    def __init__(self):
        super().__init__(OAuthClient, AccessToken)

    def query_client(self, client_id):
        return OAuthClient.objects.filter(client_id=client_id).first()

    def save_token(self, token, request):
        claims = keys.verify(token["access_token"])
        inner = claims["access_token"]
        now = timezone.now()
        refresh = token.get("refresh_token")
        AccessToken.objects.create(
            kind=AccessToken.Kind.OIDC,
            client=request.client,
            user=request.user,
            authorization_code=getattr(request, "authorization_code", None),
            token_hash=token_hash(inner),
            token_prefix=inner[:6],
            refresh_token_hash=token_hash(refresh) if refresh else None,
            scope=token["scope"],
            issued_at=now,
            expires_at=now + timedelta(seconds=token["expires_in"]),
            refresh_expires_at=now + REFRESH_LIFETIME if refresh else None,
        )
        revoke_least_recently_used(user=request.user, client=request.client)


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only: "plain" would let a stolen code be redeemed."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def save_authorization_code(self, code, request):
        data = request.payload.data
        AuthorizationCode.objects.create(
            code_hash=token_hash(code),
            client=request.client,
            user=request.user,
            redirect_uri=request.payload.redirect_uri or "",
            scope=granted_scope(request.payload.scope or "", prompt=data.get("prompt") or ""),
            nonce=data.get("nonce", ""),
            code_challenge=data.get("code_challenge", ""),
            code_challenge_method=data.get("code_challenge_method", ""),
            auth_time=int(time.time()),
        )

    def query_authorization_code(self, code, client):
        item = (
            AuthorizationCode.objects.select_related("user").filter(code_hash=token_hash(code), client=client).first()
        )
        if item is None or item.created_at < timezone.now() - CODE_LIFETIME:
            return None
        # Claimed atomically: of two concurrent exchanges of one code, only one gets tokens.
        claimed = AuthorizationCode.objects.filter(pk=item.pk, used_at__isnull=True).update(used_at=timezone.now())
        if not claimed:
            # A replayed code: RFC 6749 §4.1.2 asks to revoke what the code already gave.
            now = timezone.now()
            AccessToken.objects.filter(authorization_code=item).update(revoked_at=now, refresh_revoked_at=now)
            logger.warning("authorization code replayed for client %s; its tokens are revoked", client)
            return None
        return item

    def delete_authorization_code(self, authorization_code):
        pass  # marked used when claimed, kept to detect replays

    def authenticate_user(self, authorization_code):
        user = authorization_code.user
        return user if user.active else None


def granted_scope(requested: str, *, prompt: str) -> str:
    """The scope a code grants: as requested, but for offline_access in strict mode without consent."""
    if settings.SANDBOX_OIDC_STRICT_OFFLINE_ACCESS and "consent" not in prompt.split():
        return " ".join(scope for scope in requested.split() if scope != "offline_access")
    return requested


class ClearfactsRevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        """The token, whichever kind it is: the hint only speeds the search up (RFC 7009 §2.1)."""
        tokens = AccessToken.objects.filter(kind=AccessToken.Kind.OIDC)
        by_refresh = tokens.filter(refresh_token_hash=token_hash(token_string)).first()
        if by_refresh is not None:
            return by_refresh
        claims = keys.verify(token_string) if token_string.count(".") == 2 else None
        inner = claims.get("access_token") if claims else token_string
        return tokens.filter(token_hash=token_hash(inner)).first() if isinstance(inner, str) else None

    def revoke_token(self, token, request):
        now = timezone.now()
        if request.form.get("token_type_hint") == "access_token":
            AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        else:
            AccessToken.objects.filter(pk=token.pk).update(
                revoked_at=Coalesce("revoked_at", now), refresh_revoked_at=Coalesce("refresh_revoked_at", now)
            )


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        token = (
            AccessToken.objects.select_related("user", "client")
            .filter(refresh_token_hash=token_hash(refresh_token))
            .first()
        )
        if token is None or not token.refresh_usable():
            if token is not None:
                logger.warning("refresh token reused or expired for %s", token.user)
            return None
        # Rotation, claimed atomically: a refresh token works once, even under concurrency.
        claimed = AccessToken.objects.filter(pk=token.pk, refresh_revoked_at__isnull=True).update(
            refresh_revoked_at=timezone.now()
        )
        return token if claimed else None

    def authenticate_user(self, refresh_token):
        user = refresh_token.user
        return user if user.active else None

    def revoke_old_credential(self, refresh_token):
        pass  # already revoked when claimed


class ClearfactsOpenIDCode(OpenIDCode):
    DEFAULT_EXPIRES_IN = 3600

    def exists_nonce(self, nonce, request):
        return AuthorizationCode.objects.filter(client__client_id=request.payload.client_id, nonce=nonce).exists()

    def resolve_client_private_key(self, client):
        return keys.active_key()

    def get_client_algorithm(self, client):
        return "RS256"

    def get_encode_header(self, client):
        return {"alg": "RS256", "typ": "JWT", "kid": keys.active_key().kid}

    def get_client_claims(self, client):
        return {"iss": current_issuer.get(), "aud": [client.client_id]}

    def generate_user_info(self, user, scope):
        return userinfo_claims(user, scope)


def create_server() -> ClearfactsServer:
    server = ClearfactsServer()
    server.register_token_generator("default", generate_clearfacts_token)
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=False), ClearfactsOpenIDCode()])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(ClearfactsRevocationEndpoint)
    return server


server = create_server()
