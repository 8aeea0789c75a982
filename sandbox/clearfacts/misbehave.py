"""Deliberate protocol violations of the simulated provider, planned one answer at a time."""

import base64
import json
import time
import uuid

from django.db import transaction
from joserfc import jwt
from joserfc.jwk import OctKey

from sandbox.clearfacts import keys
from sandbox.clearfacts.models import Misbehaviour

Kind = Misbehaviour.Kind
USERINFO_KINDS = {Kind.USERINFO_OTHER_SUB}
SLOW_ANSWER_SECONDS = 2


def plan(kind: str, *, count: int = 1) -> Misbehaviour:
    return Misbehaviour.objects.create(kind=kind, remaining=count)


def take(*, userinfo: bool) -> str | None:
    """Consumes one planned misbehaviour of the token (or userinfo) kind, if any."""
    kinds = USERINFO_KINDS if userinfo else set(Kind) - USERINFO_KINDS
    with transaction.atomic():
        planned = Misbehaviour.objects.select_for_update().filter(kind__in=kinds, remaining__gt=0).first()
        if planned is None:
            return None
        planned.remaining -= 1
        planned.save(update_fields=["remaining"])
        return planned.kind


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(id_token: str) -> dict:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _signed(claims: dict, *, kid: str | None = "active") -> str:
    key = keys.active_key()
    header = {"alg": "RS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = key.kid if kid == "active" else kid
    return jwt.encode(header, claims, key, algorithms=["RS256"])


def broken_token_response(response, kind: str, *, client_secret: str):
    """The token endpoint's answer, broken in the planned way (the tokens themselves stay issued)."""
    if kind == Kind.SLOW_ANSWER:
        time.sleep(SLOW_ANSWER_SECONDS)
        return response
    body = json.loads(response.content)
    if kind == Kind.NO_SCOPE:
        body.pop("scope", None)
    elif "id_token" in body:
        body["id_token"] = broken_id_token(body["id_token"], kind, client_secret=client_secret)
    response.content = json.dumps(body)
    return response


def broken_id_token(id_token: str, kind: str, *, client_secret: str) -> str:
    claims = _claims(id_token)
    now = int(time.time())
    if kind == Kind.TAMPERED_SIGNATURE:
        header, payload, signature = id_token.split(".")
        flipped = ("A" if signature[10] != "A" else "B").join([signature[:10], signature[11:]])
        return f"{header}.{payload}.{flipped}"
    if kind == Kind.ALG_NONE:
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    if kind == Kind.HS256_CLIENT_SECRET:
        return jwt.encode(
            {"alg": "HS256", "typ": "JWT"}, claims, OctKey.import_key(client_secret), algorithms=["HS256"]
        )
    if kind == Kind.NO_KID:
        return _signed(claims, kid=None)
    if kind == Kind.UNKNOWN_KID:
        return _signed(claims, kid=uuid.uuid4().hex)
    changes = {
        Kind.WRONG_AUDIENCE: {"aud": ["another-client"]},
        Kind.WRONG_ISSUER: {"iss": "https://login.example.invalid"},
        Kind.EXPIRED: {"iat": now - 7200, "exp": now - 3600},
        Kind.WRONG_NONCE: {"nonce": uuid.uuid4().hex},
    }
    if kind in changes:
        return _signed(claims | changes[kind])
    removed = {Kind.MISSING_SUB: "sub", Kind.MISSING_IAT: "iat"}[kind]
    return _signed({name: value for name, value in claims.items() if name != removed})
