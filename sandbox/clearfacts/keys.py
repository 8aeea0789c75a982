"""The provider's RS256 signing keys: generated once, persisted (encrypted), rotated by command."""

import functools
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from sandbox.clearfacts.models import SigningKey

GRACE_PERIOD = timedelta(days=7)


def _load(signing_key: SigningKey) -> RSAKey:
    return _import(signing_key.kid, signing_key.private_pem)


@functools.lru_cache(maxsize=8)
def _import(kid: str, pem: str) -> RSAKey:
    return RSAKey.import_key(pem, {"kid": kid, "alg": "RS256", "use": "sig"})


def _create() -> SigningKey:
    key = RSAKey.generate_key(2048)
    return SigningKey.objects.create(kid=key.thumbprint(), private_pem=key.as_pem(private=True).decode())


def active_key() -> RSAKey:
    signing_key = SigningKey.objects.filter(retired_at__isnull=True).first()
    if signing_key is None:
        with transaction.atomic():
            signing_key = SigningKey.objects.select_for_update().filter(retired_at__isnull=True).first() or _create()
    return _load(signing_key)


def published_keys() -> KeySet:
    """The active key and the retired keys still in their grace period."""
    active_key()
    published = SigningKey.objects.filter(Q(retired_at__isnull=True) | Q(published_until__gt=timezone.now()))
    return KeySet([_load(key) for key in published])


@transaction.atomic
def rotate(*, grace: timedelta = GRACE_PERIOD) -> tuple[str, list[str]]:
    """Start signing with a new key; returns the new kid and the old kids still published."""
    now = timezone.now()
    SigningKey.objects.filter(retired_at__isnull=True).update(retired_at=now, published_until=now + grace)
    SigningKey.objects.filter(published_until__lte=now).delete()
    new = _create()
    return new.kid, list(SigningKey.objects.exclude(pk=new.pk).values_list("kid", flat=True))


def sign(claims: dict) -> str:
    key = active_key()
    return jwt.encode({"alg": "RS256", "typ": "JWT", "kid": key.kid}, claims, key, algorithms=["RS256"])


def verify(token: str) -> dict | None:
    """The claims of a JWT this provider signed and that has not expired, else None."""
    try:
        decoded = jwt.decode(token, published_keys(), algorithms=["RS256"])
    except (JoseError, ValueError):
        return None
    claims = decoded.claims
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        return None
    return claims
