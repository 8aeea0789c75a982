"""Bearer tokens for the simulated Clearfacts APIs: the OIDC JWT, its inner token, or a PAT."""

from authlib.common.security import generate_token
from django.utils import timezone

from sandbox.clearfacts import keys
from sandbox.clearfacts.models import AccessToken, token_hash

TOKEN_LENGTH = 80


def authenticate(authorization_header: str) -> AccessToken | None:
    """The active token the header presents, or None (missing, unknown, revoked, expired)."""
    scheme, _, raw = (authorization_header or "").partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw:
        return None
    if raw.count(".") == 2:
        claims = keys.verify(raw)
        inner = claims.get("access_token") if claims else None
    else:
        inner = raw
    if not isinstance(inner, str) or len(inner) != TOKEN_LENGTH:
        return None
    token = (
        AccessToken.objects.select_related("user__accountant", "client").filter(token_hash=token_hash(inner)).first()
    )
    if token is None or not token.is_active() or not token.user.active:
        return None
    now = timezone.now()
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    return token


def create_personal_token(*, user, name: str, scopes: list[str]) -> tuple[AccessToken, str]:
    """A personal access token: 80 ASCII characters, no expiry. The token is returned only here."""
    raw = generate_token(TOKEN_LENGTH)
    token = AccessToken.objects.create(
        kind=AccessToken.Kind.PERSONAL,
        name=name,
        user=user,
        token_hash=token_hash(raw),
        token_prefix=raw[:6],
        scope=" ".join(scopes),
    )
    return token, raw
