"""The simulated Clearfacts OpenID Connect provider, over HTTP, against the spec and the addendum."""

import base64
import hashlib
import time
from datetime import timedelta

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.core.management import call_command
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import KeySet

from sandbox.clearfacts.models import AccessToken, ClearfactsUser, SigningKey
from tests.sandbox.conftest import (
    ASSOCIATE,
    CLIENT_AN,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    authorize,
    consent,
    graphql,
    personal_token,
    query_params,
    sandbox_login,
)

PORTAL_SCOPES = "openid profile email read_administrations accountant"


def discover(sandbox):
    response = requests.get(f"{sandbox.issuer}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    return response.json()


def jwks(sandbox) -> KeySet:
    return KeySet.import_key_set(requests.get(discover(sandbox)["jwks_uri"], timeout=10).json())


def oauth_client(sandbox, scope=PORTAL_SCOPES) -> OAuth2Session:
    return OAuth2Session(
        TEST_CLIENT_ID,
        TEST_CLIENT_SECRET,
        scope=scope,
        redirect_uri=sandbox.redirect_uri,
        code_challenge_method="S256",
    )


def sign_in(sandbox, username=ASSOCIATE, scope=PORTAL_SCOPES, **authorize_params):
    """The authorization code flow up to the token response: login, consent, code exchange."""
    client = oauth_client(sandbox, scope)
    verifier, nonce = generate_token(64), generate_token(24)
    url, state = client.create_authorization_url(
        discover(sandbox)["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **authorize_params
    )
    browser = requests.Session()
    sandbox_login(browser, sandbox, username)
    location = authorize(browser, url)
    token = client.fetch_token(
        discover(sandbox)["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    return client, token, nonce


def test_discovery_has_the_fields_of_the_spec(sandbox):
    document = discover(sandbox)

    assert document["issuer"] == sandbox.issuer
    assert document["authorization_endpoint"] == f"{sandbox.issuer}/oauth2-server/authorize"
    assert document["token_endpoint"] == f"{sandbox.issuer}/oauth2-server/token"
    assert document["userinfo_endpoint"] == f"{sandbox.issuer}/oauth2-server/userinfo"
    assert document["jwks_uri"] == f"{sandbox.issuer}/oauth2-server/jwks.json"
    assert document["response_types_supported"] == ["code", "token"]
    assert document["subject_types_supported"] == ["public"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["scopes_supported"] == ["openid", "profile", "email"]


def test_the_jwks_publishes_an_rs256_key_with_a_kid(sandbox):
    keys = requests.get(discover(sandbox)["jwks_uri"], timeout=10).json()["keys"]

    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig" and keys[0]["kid"]
    assert "d" not in keys[0], "the private part must never be published"


def test_authlibs_client_completes_the_code_flow_and_calls_the_apis(sandbox):
    client, token, nonce = sign_in(sandbox)

    # The id_token verifies against the JWKS and carries the expected claims.
    id_token = jwt.decode(token["id_token"], jwks(sandbox), algorithms=["RS256"])
    claims = id_token.claims
    user = ClearfactsUser.objects.get(username=ASSOCIATE)
    assert id_token.header["kid"] == jwks(sandbox).keys[0].kid
    assert claims["iss"] == sandbox.issuer
    assert claims["aud"] == [TEST_CLIENT_ID]
    assert claims["sub"] == str(user.subject)
    assert claims["nonce"] == nonce
    assert claims["exp"] > time.time() > claims["iat"] - 5

    # The access token is a signed JWT carrying sub, username, email and an 80-character token.
    access = jwt.decode(token["access_token"], jwks(sandbox), algorithms=["RS256"]).claims
    assert (access["sub"], access["username"], access["email"]) == (str(user.subject), ASSOCIATE, ASSOCIATE)
    assert len(access["access_token"]) == 80 and access["access_token"].isascii()

    # userinfo with the JWT: the claims of the spec's table for the granted scopes.
    info = client.get(discover(sandbox)["userinfo_endpoint"]).json()
    assert info == {
        "sub": str(user.subject),
        "username": ASSOCIATE,
        "name": "Sofie Vandenberghe",
        "given_name": "Sofie",
        "family_name": "Vandenberghe",
        "preferred_username": ASSOCIATE,
        "locale": "nl-BE",
        "email": ASSOCIATE,
    }

    # GraphQL accepts both the JWT and the inner token.
    query = "{ administrations { name companyNumber } }"
    by_jwt = graphql(sandbox, token["access_token"], query).json()
    by_inner = graphql(sandbox, access["access_token"], query).json()
    assert len(by_jwt["data"]["administrations"]) == 7
    assert by_inner == by_jwt


def test_without_offline_access_the_access_token_is_long_lived_and_has_no_refresh_token(sandbox):
    _, token, _ = sign_in(sandbox)

    assert "refresh_token" not in token
    assert token["expires_in"] >= 365 * 24 * 3600


def test_offline_access_gives_a_one_hour_token_and_a_rotating_30_day_refresh_token(sandbox):
    client, token, _ = sign_in(sandbox, scope=PORTAL_SCOPES + " offline_access")
    assert token["expires_in"] == 3600
    stored = AccessToken.objects.get(refresh_token_hash__isnull=False)
    assert timedelta(days=29) < stored.refresh_expires_at - timezone.now() <= timedelta(days=30)

    token_endpoint = discover(sandbox)["token_endpoint"]
    refreshed = requests.post(
        token_endpoint,
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": TEST_CLIENT_ID,
            "client_secret": TEST_CLIENT_SECRET,
        },
        timeout=10,
    )
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["refresh_token"] != token["refresh_token"]
    assert new["access_token"] != token["access_token"] and new["expires_in"] == 3600
    assert graphql(sandbox, new["access_token"], "{ accountant { name } }").status_code == 200

    # The refresh token it was given is revoked: using it again is refused.
    replay = requests.post(
        token_endpoint,
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(TEST_CLIENT_ID, TEST_CLIENT_SECRET),
        timeout=10,
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_deny_on_the_consent_page_returns_access_denied(sandbox):
    client = oauth_client(sandbox)
    url, state = client.create_authorization_url(discover(sandbox)["authorization_endpoint"], nonce="n")
    browser = requests.Session()
    sandbox_login(browser, sandbox, CLIENT_AN)
    page = browser.get(url)

    location = consent(browser, page, decision="deny")

    assert location.startswith(sandbox.redirect_uri)
    params = query_params(location)
    assert (params["error"], params["state"]) == ("access_denied", state)
    assert "code" not in params


def test_the_consent_page_lists_the_requested_scopes(sandbox):
    client = oauth_client(sandbox, "openid email upload_document")
    url, _ = client.create_authorization_url(discover(sandbox)["authorization_endpoint"])
    browser = requests.Session()
    sandbox_login(browser, sandbox, CLIENT_AN)

    page = browser.get(url)

    assert "Authorize Test application" in page.text
    for scope in ("openid", "email", "upload_document"):
        assert f">{scope}</code>" in page.text
    assert "read_administrations" not in page.text


def test_an_anonymous_authorization_request_asks_to_log_in_first(sandbox):
    client = oauth_client(sandbox)
    url, _ = client.create_authorization_url(discover(sandbox)["authorization_endpoint"])

    page = requests.get(url, timeout=10)

    assert page.url.startswith(f"{sandbox.issuer}/login/?next=")
    assert "Log in to Clearfacts" in page.text


def test_a_wrong_password_is_refused(sandbox):
    response = sandbox_login(requests.Session(), sandbox, ASSOCIATE, password="wrong")

    assert response.status_code == 200
    assert "Unknown username or wrong password." in response.text


def test_consent_is_remembered_for_the_same_scopes(sandbox):
    sign_in(sandbox)  # consents once
    client = oauth_client(sandbox)
    url, state = client.create_authorization_url(discover(sandbox)["authorization_endpoint"])
    browser = requests.Session()
    sandbox_login(browser, sandbox, ASSOCIATE)

    response = browser.get(url, allow_redirects=False)

    assert response.status_code == 302
    assert query_params(response.headers["Location"])["state"] == state


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"client_id": "unknown"}, "invalid_client"),
        ({"redirect_uri": "https://evil.example/callback"}, "invalid_request"),
    ],
)
def test_an_unknown_client_or_redirect_uri_gets_an_error_page_not_a_redirect(sandbox, params, message):
    query = {
        "response_type": "code",
        "client_id": TEST_CLIENT_ID,
        "redirect_uri": sandbox.redirect_uri,
        "scope": "openid",
        "state": "s",
    } | params
    browser = requests.Session()
    sandbox_login(browser, sandbox, ASSOCIATE)

    response = browser.get(discover(sandbox)["authorization_endpoint"], params=query, allow_redirects=False)

    assert response.status_code == 400
    assert message in response.text


def authorization_code(sandbox, username=ASSOCIATE, **params):
    client = oauth_client(sandbox)
    url, _ = client.create_authorization_url(discover(sandbox)["authorization_endpoint"], **params)
    browser = requests.Session()
    sandbox_login(browser, sandbox, username)
    return query_params(authorize(browser, url))["code"]


def exchange(sandbox, code, **extra):
    return requests.post(
        discover(sandbox)["token_endpoint"],
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": sandbox.redirect_uri} | extra,
        auth=(TEST_CLIENT_ID, TEST_CLIENT_SECRET),
        timeout=10,
    )


def test_a_replayed_code_is_refused_and_revokes_the_tokens_it_gave(sandbox):
    code = authorization_code(sandbox)
    first = exchange(sandbox, code)
    assert first.status_code == 200

    replay = exchange(sandbox, code)

    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert graphql(sandbox, first.json()["access_token"], "{ accountant { name } }").status_code == 401


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_pkce_s256_is_enforced_at_the_token_endpoint(sandbox):
    verifier = generate_token(64)
    code = authorization_code(sandbox, code_challenge=s256(verifier), code_challenge_method="S256")

    assert exchange(sandbox, code).json()["error"] == "invalid_request"  # no verifier
    code = authorization_code(sandbox, code_challenge=s256(verifier), code_challenge_method="S256")
    assert exchange(sandbox, code, code_verifier=generate_token(64)).json()["error"] == "invalid_grant"
    code = authorization_code(sandbox, code_challenge=s256(verifier), code_challenge_method="S256")
    assert exchange(sandbox, code, code_verifier=verifier).status_code == 200


def test_the_plain_pkce_method_is_refused(sandbox):
    client = oauth_client(sandbox)
    url, state = client.create_authorization_url(
        discover(sandbox)["authorization_endpoint"], code_challenge="x" * 43, code_challenge_method="plain"
    )
    browser = requests.Session()
    sandbox_login(browser, sandbox, ASSOCIATE)

    response = browser.get(url, allow_redirects=False)

    assert query_params(response.headers["Location"])["error"] == "invalid_request"


def test_a_wrong_client_secret_is_refused(sandbox):
    code = authorization_code(sandbox)
    response = requests.post(
        discover(sandbox)["token_endpoint"],
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": sandbox.redirect_uri},
        auth=(TEST_CLIENT_ID, "wrong"),
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_at_most_ten_active_tokens_per_user_and_client_the_least_recently_used_goes(sandbox):
    tokens = [exchange(sandbox, authorization_code(sandbox)).json()["access_token"] for _ in range(10)]
    for token in tokens[1:]:
        assert graphql(sandbox, token, "{ accountant { name } }").status_code == 200  # tokens[0] now least used

    eleventh = exchange(sandbox, authorization_code(sandbox)).json()["access_token"]

    assert graphql(sandbox, tokens[0], "{ accountant { name } }").status_code == 401
    assert graphql(sandbox, tokens[1], "{ accountant { name } }").status_code == 200
    assert graphql(sandbox, eleventh, "{ accountant { name } }").status_code == 200
    assert AccessToken.objects.filter(revoked_at__isnull=True).count() == 10


def test_key_rotation_publishes_the_new_kid_and_keeps_the_old_one_for_a_grace_period(sandbox):
    _, before, _ = sign_in(sandbox)
    old_kid = jwks(sandbox).keys[0].kid

    call_command("sandbox_rotate_signing_key", stdout=open("/dev/null", "w"))  # noqa: SIM115

    kids = [key.kid for key in jwks(sandbox).keys]
    assert len(kids) == 2 and old_kid in kids
    _, after, _ = sign_in(sandbox)
    new_kid = jwt.decode(after["id_token"], jwks(sandbox)).header["kid"]
    assert new_kid != old_kid
    # A token signed with the retired key still works during the grace period.
    assert graphql(sandbox, before["access_token"], "{ accountant { name } }").status_code == 200

    # Once the grace period is over, the old key is gone and so are the tokens it signed.
    SigningKey.objects.filter(kid=old_kid).update(published_until=timezone.now() - timedelta(seconds=1))
    assert [key.kid for key in jwks(sandbox).keys] == [new_kid]
    assert graphql(sandbox, before["access_token"], "{ accountant { name } }").status_code == 401


def test_rotating_without_grace_unpublishes_the_retired_key_at_once(sandbox):
    old_kid = jwks(sandbox).keys[0].kid

    call_command("sandbox_rotate_signing_key", "--grace-days=0", stdout=open("/dev/null", "w"))  # noqa: SIM115

    kids = [key.kid for key in jwks(sandbox).keys]
    assert len(kids) == 1 and old_kid not in kids


def test_personal_access_tokens_are_80_characters_without_expiry_and_work_everywhere(sandbox):
    browser = requests.Session()
    sandbox_login(browser, sandbox, CLIENT_AN)
    page = browser.get(f"{sandbox.issuer}/tokens/")
    csrf = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]

    created = browser.post(
        f"{sandbox.issuer}/tokens/",
        data={
            "csrfmiddlewaretoken": csrf,
            "name": "CLI",
            "scopes": ["openid", "email", "read_administrations"],
            "create": "1",
        },
        headers={"Referer": page.url},
    )

    raw = created.text.split('data-testid="new-token">', 1)[1].split("<", 1)[0]
    assert len(raw) == 80 and raw.isascii()
    assert AccessToken.objects.get(name="CLI").expires_at is None
    info = requests.get(discover(sandbox)["userinfo_endpoint"], headers={"Authorization": f"Bearer {raw}"}, timeout=10)
    assert info.json() == {
        "sub": str(ClearfactsUser.objects.get(username=CLIENT_AN).subject),
        "username": CLIENT_AN,
        "email": CLIENT_AN,
    }
    names = graphql(sandbox, raw, "{ administrations { name } }").json()["data"]["administrations"]
    assert names == [{"name": "Bakkerij Maes BV"}]


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer not-a-token", "Basic abc", "Bearer " + "x" * 80])
def test_userinfo_refuses_a_missing_or_unknown_token_with_401(sandbox, header):
    response = requests.get(
        discover(sandbox)["userinfo_endpoint"], headers={"Authorization": header} if header else {}, timeout=10
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_a_revoked_personal_token_is_refused(sandbox):
    raw = personal_token(CLIENT_AN, "openid", "read_administrations")
    AccessToken.objects.update(revoked_at=timezone.now())

    assert graphql(sandbox, raw, "{ administrations { name } }").status_code == 401


def test_an_expired_access_token_is_refused(sandbox):
    _, token, _ = sign_in(sandbox, scope=PORTAL_SCOPES + " offline_access")
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert graphql(sandbox, token["access_token"], "{ accountant { name } }").status_code == 401


# --- offline access as OpenID Connect Core §11 has it, revocation (RFC 7009), RP-initiated logout ---


def test_clearfacts_gives_offline_access_without_prompt_consent(sandbox):
    _, token, _ = sign_in(sandbox, scope=PORTAL_SCOPES + " offline_access")

    assert token["refresh_token"] and "offline_access" in token["scope"].split()


def test_a_strict_sandbox_gives_offline_access_only_with_prompt_consent(sandbox, settings):
    settings.SANDBOX_OIDC_STRICT_OFFLINE_ACCESS = True

    _, without_consent, _ = sign_in(sandbox, scope=PORTAL_SCOPES + " offline_access")
    _, with_consent, _ = sign_in(sandbox, scope=PORTAL_SCOPES + " offline_access", prompt="consent")

    assert "refresh_token" not in without_consent and "offline_access" not in without_consent["scope"].split()
    assert without_consent["expires_in"] == 3600, "a standard provider has no long-lived tokens"
    assert with_consent["refresh_token"] and "offline_access" in with_consent["scope"].split()


def revoke(sandbox, token, hint=None, auth=(TEST_CLIENT_ID, TEST_CLIENT_SECRET)):
    data = {"token": token} | ({"token_type_hint": hint} if hint else {})
    return requests.post(discover(sandbox)["revocation_endpoint"], data=data, auth=auth, timeout=10)


def test_revoking_the_refresh_token_ends_the_access_token_too(sandbox):
    client, token, _ = sign_in(sandbox, scope=PORTAL_SCOPES + " offline_access")

    response = revoke(sandbox, token["refresh_token"], "refresh_token")

    assert response.status_code == 200
    assert graphql(sandbox, token["access_token"], "{ accountant { name } }").status_code == 401
    refreshed = requests.post(
        discover(sandbox)["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(TEST_CLIENT_ID, TEST_CLIENT_SECRET),
        timeout=10,
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_revoking_an_access_token_keeps_its_refresh_token(sandbox):
    _, token, _ = sign_in(sandbox, scope=PORTAL_SCOPES + " offline_access")

    assert revoke(sandbox, token["access_token"], "access_token").status_code == 200

    stored = AccessToken.objects.get()
    assert stored.revoked_at is not None and stored.refresh_revoked_at is None


def test_revocation_answers_200_for_an_unknown_token_and_401_for_a_wrong_secret(sandbox):
    _, token, _ = sign_in(sandbox)

    assert revoke(sandbox, "not-a-token").status_code == 200
    assert revoke(sandbox, token["access_token"], auth=(TEST_CLIENT_ID, "wrong")).status_code == 401
    assert AccessToken.objects.get().revoked_at is None


def test_end_session_logs_out_and_returns_to_the_client(sandbox):
    browser = requests.Session()
    sandbox_login(browser, sandbox, ASSOCIATE)
    end_session = discover(sandbox)["end_session_endpoint"]

    response = browser.get(
        end_session,
        params={"client_id": TEST_CLIENT_ID, "post_logout_redirect_uri": f"{sandbox.base}/signed-out/", "state": "s"},
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == 302 and response.headers["Location"] == f"{sandbox.base}/signed-out/?state=s"
    tokens_page = browser.get(f"{sandbox.issuer}/tokens/", timeout=10)
    assert "/sandbox/clearfacts/login/" in tokens_page.url, "the provider's session has ended"
