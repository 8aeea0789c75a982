"""The Clearfacts GraphQL client: operations against the contract, typed errors, cached reads."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from graphql import parse, validate

from accounts.models import ClearfactsCredential
from clearfacts_app import client, selectors
from clearfacts_app.models import Administration
from sandbox.clearfacts.models import AccessToken
from sandbox.instrument import fail_next
from sandbox.models import RequestLog
from tests.personas import BAKKERIJ, SOFIE
from tests.signed_in import sign_in_directly


def test_every_operation_validates_against_the_contracts_sdl():
    files = sorted((client.GRAPHQL_DIR / "operations").glob("*.graphql"))

    assert len(files) >= 11
    for path in files:
        assert validate(client.SCHEMA, parse(path.read_text())) == [], path.name


def test_an_operation_that_drifts_from_the_contract_is_refused_when_loaded(tmp_path):
    (tmp_path / "broken.graphql").write_text("query Broken { administrations { name vatRate } }")

    with pytest.raises(ImproperlyConfigured, match="broken.graphql does not match the Clearfacts schema"):
        client.load_operations(client.SCHEMA, tmp_path)


def test_the_sandbox_serves_the_same_schema_file_the_client_validates_against():
    from sandbox.clearfacts.graphql_resolvers import SCHEMA_FILE

    assert SCHEMA_FILE == client.GRAPHQL_DIR / "schema.graphql"


@pytest.fixture
def user(portal):
    return sign_in_directly(portal, SOFIE).user


@pytest.fixture
def bakkerij(user):
    return Administration.objects.get(company_number=BAKKERIJ)


def test_a_read_returns_the_data(user):
    assert client.execute(user=user, operation="Accountant")["accountant"]["companyNumber"] == "0471234512"


def test_a_missing_scope_is_a_typed_error_naming_the_scope(user):
    ClearfactsCredential.objects.update(access_token=_token_with_scopes(user, "openid read_administrations"))

    with pytest.raises(client.MissingScope) as raised:
        client.execute(user=user, operation="Accountant")
    assert raised.value.details["scope"] == "accountant" and not raised.value.retryable


def _token_with_scopes(user, scopes):
    from sandbox.clearfacts.bearer import create_personal_token
    from sandbox.clearfacts.models import ClearfactsUser

    _, raw = create_personal_token(user=ClearfactsUser.objects.get(username=SOFIE), name="t", scopes=scopes.split())
    return raw


def test_an_unknown_administration_is_not_found(user):
    with pytest.raises(client.NotFound):
        client.execute(user=user, operation="Journals", variables={"companyNumber": "0665048133"})


def test_bad_input_is_refused_with_clearfacts_message(user):
    with pytest.raises(client.Refused) as raised:
        client.execute(user=user, operation="Customers", variables={"companyNumber": "0652381715", "offset": -1})
    assert raised.value.code == "BAD_USER_INPUT" and "offset" in raised.value.message


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_unavailable_and_retryable(user, status):
    fail_next("clearfacts-graphql", status=status)

    with pytest.raises(client.Unavailable) as raised:
        client.execute(user=user, operation="Accountant")
    assert raised.value.retryable


def test_an_unreachable_server_is_unavailable(user):
    with override_settings(CLEARFACTS_GRAPHQL_URL="http://127.0.0.1:9/graphql"), pytest.raises(client.Unavailable):
        client.execute(user=user, operation="Accountant")


def test_a_refused_token_is_not_authorized_and_invalidates_the_credential(user):
    AccessToken.objects.update(revoked_at="2026-01-01T00:00:00Z")

    with pytest.raises(client.NotAuthorized):
        client.execute(user=user, operation="Accountant")
    assert ClearfactsCredential.objects.get().status == ClearfactsCredential.Status.INVALID
    with pytest.raises(client.NotAuthorized):  # and no further call is made
        client.execute(user=user, operation="Accountant")
    assert RequestLog.objects.filter(service="clearfacts-graphql", status=401).count() == 1


def test_reads_are_cached_per_user_and_question_and_refresh_asks_again(user, bakkerij):
    brouwerij = Administration.objects.get(company_number="0441908244")

    selectors.journals(user=user, administration=bakkerij)
    selectors.journals(user=user, administration=bakkerij)
    selectors.journals(user=user, administration=brouwerij)
    selectors.journals(user=user, administration=bakkerij, refresh=True)

    assert RequestLog.objects.filter(operation="journals").count() == 3


def test_errors_are_not_cached(user, bakkerij):
    fail_next("clearfacts-graphql", status=503)
    with pytest.raises(client.Unavailable):
        selectors.journals(user=user, administration=bakkerij)

    assert selectors.journals(user=user, administration=bakkerij)[0]["id"] == "CFAC"


def test_the_cache_expires_after_the_configured_time(user, bakkerij):
    with override_settings(CLEARFACTS_READ_CACHE_SECONDS=0):
        selectors.journals(user=user, administration=bakkerij)
        selectors.journals(user=user, administration=bakkerij)

    assert RequestLog.objects.filter(operation="journals").count() == 2
