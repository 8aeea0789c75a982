"""The Clearvo sandbox's admin pages, and concurrent submissions."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.contrib import admin
from django.urls import reverse

from sandbox.clearvo.models import ApiKey, IdempotencyRecord, InvoiceSubmission, key_hash
from sandbox.clearvo.seed import seed
from tests.sandbox.clearvo_support import Clearvo, invoice, italian_invoice


def test_concurrent_requests_with_one_key_make_one_invoice(clearvo):
    key = str(uuid.uuid4())
    payload = italian_invoice()

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(
            pool.map(lambda _: Clearvo(clearvo.base_url, clearvo.api_key).post(payload, key=key), range(6))
        )

    assert [response.status_code for response in responses] == [200] * 6
    assert len({response.json()["referenceId"] for response in responses}) == 1
    assert sum("Idempotent-Replayed" in response.headers for response in responses) == 5
    assert InvoiceSubmission.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_concurrent_submissions_of_one_number_leave_one_original(clearvo):
    with ThreadPoolExecutor(max_workers=4) as pool:
        bodies = list(pool.map(lambda _: Clearvo(clearvo.base_url, clearvo.api_key).submit(invoice("DE")), range(4)))

    assert sorted(body["clearanceStatus"] for body in bodies) == ["ACCEPTED", "DUPLICATE", "DUPLICATE", "DUPLICATE"]


@pytest.mark.parametrize(
    "model", [ApiKey, InvoiceSubmission, IdempotencyRecord], ids=lambda model: model._meta.model_name
)
def test_the_admin_lists_searches_and_shows_each_model(admin_client, live_server, model):
    seed()
    Clearvo(f"{live_server.url}/sandbox/clearvo/v1", settings.SANDBOX_CLEARVO_TEST_KEY).submit(italian_invoice())
    assert model in admin.site._registry
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")

    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(changelist, {"q": "IT"}).status_code == 200
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[model.objects.first().pk])
    assert admin_client.get(change).status_code == 200


def test_the_admin_creates_a_key_and_shows_it_once(admin_client):
    response = admin_client.post(
        reverse("admin:sandbox_clearvo_apikey_add"),
        {"raw_key": "", "new_environment": "live", "organisation": "Demo office", "is_active": "on"},
        follow=True,
    )

    api_key = ApiKey.objects.get(organisation="Demo office")
    [message] = [str(message) for message in response.context["messages"] if "API key is" in str(message)]
    raw_key = message.split("The new API key is ")[1].split(".")[0]
    assert raw_key.startswith("ck_live_")
    assert api_key.key_hash == key_hash(raw_key)
    assert api_key.environment == "live"
    assert api_key.prefix == raw_key[:12] + "…"


def test_the_admin_refuses_a_key_without_a_known_prefix(admin_client):
    response = admin_client.post(
        reverse("admin:sandbox_clearvo_apikey_add"),
        {"raw_key": "sk_test_123", "new_environment": "test", "organisation": "Demo office", "is_active": "on"},
    )

    assert response.status_code == 200
    assert not ApiKey.objects.filter(organisation="Demo office").exists()
