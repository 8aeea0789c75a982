import pytest
from django.core.cache import cache
from django.test import override_settings

from portal.tasks import HEARTBEAT_KEY, WORKER_SERVICES_KEY, heartbeat


@pytest.fixture(autouse=True)
def no_worker_seen_yet():
    """A worker another test started may have run the heartbeat with its own addresses."""
    cache.delete_many([HEARTBEAT_KEY, WORKER_SERVICES_KEY])


def test_healthz_answers_200_with_json_when_database_and_broker_answer(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"


def test_healthz_needs_no_sign_in_and_is_not_cached(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0", CELERY_BROKER_FOLDERS=[])
def test_healthz_answers_503_when_the_broker_does_not_answer(client, db):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("unavailable", "ok", "unavailable")


def test_healthz_answers_503_when_the_filesystem_broker_folder_is_missing(client, db, tmp_path):
    with override_settings(
        CELERY_BROKER_URL="filesystem://",
        CELERY_BROKER_TRANSPORT_OPTIONS={},
        CELERY_BROKER_FOLDERS=[tmp_path / "gone"],
    ):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_healthz_only_answers_get(client, db, method):
    assert getattr(client, method)("/healthz").status_code == 405


def test_healthz_answers_503_when_the_worker_talks_to_other_services_than_the_web_server(client, db):
    # What `make run` did: honcho gave the worker PORT 8100, and its SITE_URL followed.
    elsewhere = "http://localhost:8100/sandbox"
    with override_settings(
        CLEARFACTS_OIDC_ISSUER=f"{elsewhere}/clearfacts",
        CLEARFACTS_GRAPHQL_URL=f"{elsewhere}/clearfacts/graphql",
        CLEARVO_API_URL=f"{elsewhere}/clearvo/v1",
    ):
        heartbeat()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert (response.json()["status"], response.json()["worker_services"]) == ("unavailable", "different")


def test_healthz_is_ok_when_the_worker_talks_to_the_same_services(client, db):
    heartbeat()

    response = client.get("/healthz")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["worker_services"]) == ("ok", "same")
    assert response.json()["worker_last_seen"]
