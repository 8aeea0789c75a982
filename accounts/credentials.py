"""The user's stored Clearfacts token: saving it, handing it out fresh, and giving it up.

Whichever process needs a token refreshes it shortly before expiry. Refreshing takes a short
lease on the credential (an atomic UPDATE), so when two workers need it at once one refreshes
and the other waits for its result; the refresh token is used once (Clearfacts rotates it) and
never again. No database lock is held while Clearfacts is called. The lease outlasts the slowest
refresh, and a refresh's outcome is only written while its lease still holds: a new sign-in or an
invalidation in the meantime wins.
"""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts import provider
from accounts.models import ClearfactsCredential, User

logger = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=2)
# Far longer than a refresh (at most three provider calls: discovery, the grant, the grant again if it
# never arrived), so no one else spends the refresh token while this one is on its way.
LEASE = timedelta(minutes=5)
WAIT = timedelta(seconds=35)
WAIT_STEP = 0.2


class CredentialUnavailable(Exception):
    """There is no usable Clearfacts token for the user: they must sign in again."""


class CredentialRefused(Exception):
    """The provider refused the user's token while a view was calling it: they must sign in again.

    Raised by the provider's client (clearfacts_app.client.NotAuthorized is one), so that the
    sign-in middleware can answer it without importing the client.
    """


class CredentialTemporarilyUnavailable(Exception):
    """The token needs refreshing but that cannot happen now; retrying later may help."""


def _token_fields(token_response: dict) -> dict:
    expires_in = token_response.get("expires_in")
    fields = {
        "access_token": token_response["access_token"],
        "access_expires_at": timezone.now() + timedelta(seconds=int(expires_in)) if expires_in else None,
        "status": ClearfactsCredential.Status.VALID,
        "invalid_reason": "",
    }
    if token_response.get("scope") is not None:  # absent: as requested (RFC 6749 §5.1), or as before
        fields["scopes"] = token_response["scope"]
    if "refresh_token" in token_response:
        fields["refresh_token"] = token_response["refresh_token"]
    return fields


def credential_store(*, user: User, token_response: dict, requested_scopes: str = "") -> ClearfactsCredential:
    """Keeps the tokens of a fresh sign-in, replacing earlier ones but a still valid refresh token.

    A sign-in that brings no refresh token (the provider gave no offline access this time) keeps the
    one from an earlier sign-in, so background work for the user goes on.
    """
    fields = _token_fields(token_response) | {"issued_at": timezone.now(), "refreshed_at": None}
    if "refresh_token" not in fields:
        earlier = credential_for(user)
        kept = earlier.refresh_token if earlier is not None and earlier.is_valid else ""
        fields["refresh_token"] = kept
        if kept:
            logger.info("the sign-in of user %s brought no refresh token; the earlier one is kept", user.pk)
    fields.setdefault("scopes", requested_scopes or settings.OIDC_RP_SCOPES)
    fields["refreshing_until"] = None
    credential, _ = ClearfactsCredential.objects.update_or_create(user=user, defaults=fields)
    return credential


def credential_forget(*, user: User) -> None:
    """Deletes the user's tokens here, after asking the provider to revoke them (best effort)."""
    credential = credential_for(user)
    if credential is not None:
        # RFC 7009 §2.1 lets a provider end the access tokens with their refresh token, but does not
        # make it: both are revoked, each call bounded by OIDC_REVOCATION_TIMEOUT.
        if credential.refresh_token:
            provider.revoke(credential.refresh_token, kind="refresh_token")
        provider.revoke(credential.access_token, kind="access_token")
    ClearfactsCredential.objects.filter(user=user).delete()


def works_in_background(credential: ClearfactsCredential | None) -> bool:
    """False when the portal can act for the user only until their access token expires."""
    return credential is not None and (credential.access_expires_at is None or bool(credential.refresh_token))


def credential_invalidate(*, user: User, reason: str, lease: datetime | None = None) -> bool:
    """Clearfacts refused the token: pages ask for a new sign-in, background work stops.

    With `lease`, only while that refresh lease still holds (a new sign-in clears it).
    """
    credentials = ClearfactsCredential.objects.filter(user=user, status=ClearfactsCredential.Status.VALID)
    if lease is not None:
        credentials = credentials.filter(refreshing_until=lease)
    updated = credentials.update(
        status=ClearfactsCredential.Status.INVALID, invalid_reason=reason[:200], refreshing_until=None
    )
    if updated:
        logger.warning("Clearfacts credential of user %s is now invalid: %r", user.pk, reason)
    return bool(updated)


def credential_for(user: User) -> ClearfactsCredential | None:
    return ClearfactsCredential.objects.filter(user=user).first()


def request_credential(user: User) -> ClearfactsCredential | None:
    """The credential read with the request's user (accounts.oidc.ClearfactsOIDCBackend.get_user
    loads both in one query), read now when it was not."""
    try:
        return user.clearfacts_credential
    except ClearfactsCredential.DoesNotExist:
        return None


def access_token_for(user: User) -> str:
    """A Clearfacts access token for `user`, refreshed first if it is about to expire."""
    deadline = time.monotonic() + WAIT.total_seconds()
    while True:
        credential = credential_for(user)
        if credential is None or not credential.is_valid:
            raise CredentialUnavailable(f"user {user.pk} has no valid Clearfacts token")
        if not credential.expires_within(REFRESH_MARGIN):
            return credential.access_token
        if lease := _claim_refresh(credential):
            if token := _refresh(user, lease):
                return token
            # The credential changed during the refresh (a new sign-in): look again.
        elif time.monotonic() <= deadline:
            time.sleep(WAIT_STEP)  # another process is refreshing: use its result
        if time.monotonic() > deadline:
            raise CredentialTemporarilyUnavailable("the token could not be refreshed in time")


def _claim_refresh(credential: ClearfactsCredential) -> datetime | None:
    """Takes the refresh lease; returns it (the token of this claim) or None if another holds it."""
    now = timezone.now()
    lease = now + LEASE
    claimed = (
        ClearfactsCredential.objects.filter(pk=credential.pk, status=ClearfactsCredential.Status.VALID)
        .filter(Q(refreshing_until__isnull=True) | Q(refreshing_until__lt=now))
        .update(refreshing_until=lease)
    )
    return lease if claimed else None


def _release(user: User, lease: datetime, **fields) -> bool:
    """Ends the lease, writing `fields`; False if the lease was lost meanwhile (nothing written)."""
    return bool(
        ClearfactsCredential.objects.filter(user=user, refreshing_until=lease).update(refreshing_until=None, **fields)
    )


def _refresh(user: User, lease: datetime) -> str | None:
    """Refreshes the credential whose lease this process holds; None if the lease was lost."""
    credential = credential_for(user)  # read after claiming: another process may have just refreshed
    if not credential.expires_within(REFRESH_MARGIN):
        _release(user, lease)
        return credential.access_token
    expired = credential.expires_within(timedelta(0))
    if not credential.refresh_token:
        if expired:
            credential_invalidate(user=user, reason="the access token expired and there is no refresh token")
            raise CredentialUnavailable("the access token expired and there is no refresh token")
        _release(user, lease)
        return credential.access_token
    try:
        token_response = provider.refresh(credential.refresh_token)
    except provider.RefreshRefused as refused:
        if not credential_invalidate(user=user, reason=str(refused), lease=lease):
            return None
        raise CredentialUnavailable(str(refused)) from refused
    except provider.ProviderUnreachable as error:
        _release(user, lease)
        if not expired:
            return credential.access_token  # still valid for a moment; the next use refreshes
        raise CredentialTemporarilyUnavailable(str(error)) from error
    fields = _token_fields(token_response)
    if not _release(user, lease, refreshed_at=timezone.now(), **fields):
        logger.warning("Clearfacts credential of user %s changed during its refresh; the refresh is dropped", user.pk)
        return None
    return fields["access_token"]
