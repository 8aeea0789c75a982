"""The stored Clearfacts token: refreshed before expiry, once under concurrency, given up when refused."""

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from accounts import provider
from accounts.credentials import (
    CredentialTemporarilyUnavailable,
    CredentialUnavailable,
    access_token_for,
    credential_invalidate,
)
from accounts.models import ClearfactsCredential, User
from clearfacts_app import client
from clearfacts_app.models import AdministrationAccess
from clearfacts_app.tasks import sync_user_access
from sandbox.clearfacts import misbehave
from sandbox.clearfacts.models import AccessToken, ClearfactsUser, Misbehaviour
from sandbox.instrument import fail_next
from sandbox.models import RequestLog
from tests.conftest import wait_until
from tests.personas import AN, SOFIE
from tests.portal_site import sign_in


def token_calls() -> int:
    return RequestLog.objects.filter(service="clearfacts-oidc", operation="token", status=200).count()


def expire_soon(seconds=30):
    ClearfactsCredential.objects.update(access_expires_at=timezone.now() + timedelta(seconds=seconds))


@pytest.fixture
def user(portal):
    sign_in(portal, SOFIE)
    return User.objects.get()


def test_a_token_about_to_expire_is_refreshed_and_the_refresh_token_rotated(user):
    before = ClearfactsCredential.objects.get()
    expire_soon()

    token = access_token_for(user)

    after = ClearfactsCredential.objects.get()
    assert token == after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token
    assert after.refreshed_at is not None and after.access_expires_at > timezone.now() + timedelta(minutes=55)
    assert token_calls() == 2  # the sign-in and this refresh
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM accounts_clearfactscredential")
        raw = cursor.fetchone()
    assert after.access_token not in raw[0] and after.refresh_token not in raw[1], "stored encrypted"
    assert client.execute(user=user, operation="Accountant")["accountant"]["companyNumber"] == "0471234512"


def test_a_token_not_about_to_expire_is_used_as_it_is(user):
    token = ClearfactsCredential.objects.get().access_token

    assert access_token_for(user) == token
    assert token_calls() == 1


def test_two_workers_needing_the_token_at_once_refresh_it_once(user):
    expire_soon()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(access_token_for(user))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    with override_settings(SANDBOX_LATENCY_MS=400):  # a slow token endpoint widens the race
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    assert not errors, errors
    assert len(results) == 2 and results[0] == results[1] == ClearfactsCredential.objects.get().access_token
    assert token_calls() == 2, "one sign-in and exactly one refresh"
    refreshes = RequestLog.objects.filter(service="clearfacts-oidc", operation="token").exclude(status=200)
    assert not refreshes.exists(), "the rotated-away refresh token was never sent again"


def test_a_refused_refresh_token_ends_the_credential_without_retrying(user):
    AccessToken.objects.update(refresh_revoked_at=timezone.now())
    expire_soon()

    with pytest.raises(CredentialUnavailable):
        access_token_for(user)
    calls = RequestLog.objects.filter(operation="token").count()
    with pytest.raises(CredentialUnavailable):
        access_token_for(user)

    credential = ClearfactsCredential.objects.get()
    assert credential.status == ClearfactsCredential.Status.INVALID and "refresh refused" in credential.invalid_reason
    assert RequestLog.objects.filter(operation="token").count() == calls, "no loop: nothing is sent once invalid"


def test_an_unreachable_provider_leaves_a_still_valid_token_in_use(user):
    token = ClearfactsCredential.objects.get().access_token
    expire_soon(seconds=60)
    fail_next("clearfacts-oidc", operation="token", status=503)

    assert access_token_for(user) == token
    assert ClearfactsCredential.objects.get().is_valid


def test_an_unreachable_provider_with_an_expired_token_is_a_temporary_failure(user):
    expire_soon(seconds=-1)
    fail_next("clearfacts-oidc", operation="token", status=503)

    with pytest.raises(CredentialTemporarilyUnavailable):
        access_token_for(user)
    assert ClearfactsCredential.objects.get().is_valid, "a retry may still succeed"
    assert access_token_for(user) != ""


def test_a_refresh_whose_answer_times_out_is_not_sent_again(user):
    """Clearfacts rotated the refresh token but its answer was lost: sending the spent one again
    would be refused and sign the user out."""
    token = ClearfactsCredential.objects.get().access_token
    expire_soon(seconds=60)
    misbehave.plan(misbehave.Kind.SLOW_ANSWER)

    with override_settings(EXTERNAL_TIMEOUT=(5, 0.5)):
        assert access_token_for(user) == token, "the current token is still good for a minute"

    wait_until(lambda: token_calls() == 2, message="the slow refresh to be answered")
    assert RequestLog.objects.filter(operation="token").count() == 2, "the sign-in and one refresh, not two"
    assert ClearfactsCredential.objects.get().is_valid


def test_a_token_answer_without_scope_grants_the_scopes_asked_for_and_keeps_them_on_refresh(portal):
    misbehave.plan(misbehave.Kind.NO_SCOPE, count=2)
    sign_in(portal, SOFIE)
    user = User.objects.get()
    assert ClearfactsCredential.objects.get().scopes == settings.OIDC_RP_SCOPES
    ClearfactsCredential.objects.update(scopes="openid read_administrations")
    expire_soon()

    access_token_for(user)

    assert ClearfactsCredential.objects.get().scopes == "openid read_administrations"
    assert not Misbehaviour.objects.filter(remaining__gt=0).exists(), "both answers came without scope"


def test_a_busy_token_endpoint_is_a_temporary_failure_not_a_sign_out(user):
    expire_soon(seconds=-1)
    fail_next("clearfacts-oidc", operation="token", status=429)

    with pytest.raises(CredentialTemporarilyUnavailable):
        access_token_for(user)
    assert ClearfactsCredential.objects.get().is_valid


def during_the_refresh(monkeypatch, action):
    """Runs `action` after the refresh lease is taken, before Clearfacts answers the refresh."""
    real_refresh = provider.refresh

    def refresh(refresh_token):
        action()
        return real_refresh(refresh_token)

    monkeypatch.setattr(provider, "refresh", refresh)


def test_a_refusal_that_arrives_after_a_new_sign_in_leaves_the_new_credential_alone(user, portal, monkeypatch):
    AccessToken.objects.update(refresh_revoked_at=timezone.now())
    expire_soon(seconds=-1)
    during_the_refresh(monkeypatch, lambda: sign_in(portal, SOFIE))

    token = access_token_for(user)

    credential = ClearfactsCredential.objects.get()
    assert credential.is_valid and token == credential.access_token
    assert credential.access_expires_at > timezone.now() + timedelta(minutes=55)


def test_a_refresh_that_ends_after_an_invalidation_does_not_revive_the_credential(user, monkeypatch):
    expire_soon(seconds=-1)
    during_the_refresh(monkeypatch, lambda: credential_invalidate(user=user, reason="invalidated by staff"))

    with pytest.raises(CredentialUnavailable):
        access_token_for(user)

    credential = ClearfactsCredential.objects.get()
    assert credential.status == ClearfactsCredential.Status.INVALID
    assert credential.invalid_reason == "invalidated by staff"


@pytest.mark.slow
def test_a_worker_process_syncs_with_the_stored_token_and_stops_when_it_is_refused(portal, process_env, start_process):
    sign_in(portal, AN)
    user = User.objects.get()
    expire_soon()  # the worker has to refresh it first
    env = process_env | {
        "CLEARFACTS_OIDC_ISSUER": portal.issuer,
        "CLEARFACTS_GRAPHQL_URL": f"{portal.issuer}/graphql",
    }
    from tests.conftest import VENV_BIN

    worker = start_process(
        [
            str(VENV_BIN / "celery"),
            "-A",
            "portal",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"access-{time.monotonic_ns()}@%h",
        ],
        env,
        name="worker",
    )
    ClearfactsUser.objects.get(username=AN).companies.clear()

    sync_user_access.delay(user.pk)

    deadline = time.monotonic() + 60
    wait_until(
        lambda: not AdministrationAccess.objects.filter(user=user).exists(),
        timeout=deadline - time.monotonic(),
        message="the withdrawn administration to go",
        process=worker,
    )
    assert ClearfactsCredential.objects.get().refreshed_at is not None

    AccessToken.objects.update(revoked_at=timezone.now(), refresh_revoked_at=timezone.now())
    sync_user_access.delay(user.pk)
    wait_until(
        lambda: not ClearfactsCredential.objects.get().is_valid,
        timeout=deadline - time.monotonic(),
        message="the refused credential to be invalid",
        process=worker,
    )
    time.sleep(1)
    graphql_calls = RequestLog.objects.filter(service="clearfacts-graphql").count()
    sync_user_access.delay(user.pk)
    time.sleep(2)
    assert RequestLog.objects.filter(service="clearfacts-graphql").count() == graphql_calls
    assert "needs sign-in" in worker.output()
