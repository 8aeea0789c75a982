"""What all simulated services share: fault injection, latency, the request log, the seed, mounting."""

import io
import json
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from sandbox.clearfacts.models import ClearfactsUser, Company, Customer, OAuthClient, Statistic
from sandbox.clearvo.models import InvoiceSubmission
from sandbox.clearvo.services import TRIGGERS
from sandbox.instrument import fail_next
from sandbox.models import FaultPlan, RequestLog, SandboxSettings
from tests.conftest import ROOT
from tests.portal_site import csrf_token
from tests.sandbox.clearvo_support import invoice, italian_invoice, parse_iso
from tests.sandbox.conftest import ASSOCIATE, graphql, personal_token

QUERY = "{ accountant { name } }"


@pytest.fixture
def token(sandbox):
    return personal_token(ASSOCIATE, "accountant")


def test_a_planned_fault_fails_the_next_calls_and_then_stops(sandbox, token):
    fail_next("clearfacts-graphql", count=2, status=502)

    statuses = [graphql(sandbox, token, QUERY).status_code for _ in range(3)]

    assert statuses == [502, 502, 200]
    assert list(RequestLog.objects.order_by("id").values_list("status", "fault_injected")) == [
        (502, True),
        (502, True),
        (200, False),
    ]


def test_a_planned_fault_can_target_one_operation(sandbox, token):
    fail_next("clearfacts-graphql", operation="uploadFile", status=503)

    assert graphql(sandbox, token, QUERY).status_code == 200


def test_the_fault_rate_answers_5xx(sandbox, token):
    with override_settings(SANDBOX_FAULT_RATE=1.0):
        response = graphql(sandbox, token, QUERY)
    assert response.status_code in (500, 502, 503)
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"


def test_latency_is_added_to_every_call(sandbox, token):
    graphql(sandbox, token, QUERY)  # warm up
    with override_settings(SANDBOX_LATENCY_MS=300):
        started = time.monotonic()
        graphql(sandbox, token, QUERY)
        elapsed = time.monotonic() - started
    assert elapsed >= 0.3


def post_sandbox_form(base: str, action: str, data: dict) -> requests.Response:
    """Posts one of the forms on /sandbox/ as a browser does (a list value: ticked checkboxes)."""
    browser = requests.Session()
    page = browser.get(f"{base}/sandbox/", timeout=10)
    return browser.post(
        f"{base}{action}",
        data={"csrfmiddlewaretoken": csrf_token(page.text), **data},
        headers={"Referer": f"{base}/sandbox/"},
        timeout=10,
    )


def change_sandbox_settings(base: str, **values) -> requests.Response:
    """Fills in the Time, faults, latency form on /sandbox/; empty fields stay empty."""
    fields = dict.fromkeys(
        (
            "fault_rate",
            "after_commit_share",
            "fault_service",
            "hold_seconds",
            "latency_ms",
            "time_factor",
            "bandwidth_kbps",
        ),
        "",
    )
    values = {name: value if isinstance(value, list) else str(value) for name, value in values.items()}
    return post_sandbox_form(base, "/sandbox/", fields | values)


def test_the_fault_rate_changed_on_the_running_sandbox_fails_the_next_call(sandbox, token):
    assert graphql(sandbox, token, QUERY).status_code == 200

    saved = change_sandbox_settings(sandbox.base, fault_rate="1")

    assert saved.status_code == 200 and "Sandbox settings saved" in saved.text
    assert 'data-testid="fault-rate">1.0<' in saved.text
    assert graphql(sandbox, token, QUERY).status_code in (500, 502, 503)

    change_sandbox_settings(sandbox.base, fault_rate="")  # back to SANDBOX_FAULT_RATE (0)

    assert graphql(sandbox, token, QUERY).status_code == 200


def test_latency_changed_on_the_running_sandbox_delays_the_next_call(sandbox, token):
    change_sandbox_settings(sandbox.base, latency_ms=400)

    started = time.monotonic()
    graphql(sandbox, token, QUERY)

    assert time.monotonic() - started >= 0.4
    assert RequestLog.objects.get().duration_ms >= 400


def test_the_time_factor_changed_in_the_admin_applies_to_the_next_clearvo_call(clearvo, admin_client):
    url = reverse("admin:sandbox_sandboxsettings_changelist")
    change_url = admin_client.get(url).url
    form = {"fault_rate": "", "latency_ms": "", "time_factor": "300", "bandwidth_kbps": ""}

    assert admin_client.post(change_url, form).status_code == 302

    submitted = clearvo.submit(italian_invoice())
    assert parse_iso(submitted["nextPollAfter"]) - parse_iso(submitted["submittedAt"]) == timedelta(seconds=1)


def test_bad_values_on_the_sandbox_page_are_explained_and_change_nothing(sandbox, token):
    page = change_sandbox_settings(sandbox.base, fault_rate="2", latency_ms="-5", time_factor="fast")

    assert page.status_code == 200
    assert "Ensure this value is less than or equal to 1.0." in page.text
    assert "Ensure this value is greater than or equal to 0." in page.text
    assert "Enter a number." in page.text
    assert not SandboxSettings.objects.exists()
    assert graphql(sandbox, token, QUERY).status_code == 200


def test_the_fault_knobs_changed_on_the_sandbox_page_apply_to_the_next_call(sandbox, clearvo, token):
    saved = change_sandbox_settings(
        sandbox.base,
        fault_rate="1",
        after_commit_share="1",
        fault_kinds=["truncated", "invalid_json"],
        fault_service="clearvo",
        hold_seconds="3",
    )

    assert saved.status_code == 200 and "Sandbox settings saved" in saved.text
    assert 'data-testid="fault-kinds">truncated, invalid_json<' in saved.text
    assert 'data-testid="after-commit-share">1.0<' in saved.text
    assert 'data-testid="fault-service">clearvo<' in saved.text
    assert 'data-testid="hold-seconds">3.0<' in saved.text
    spoiled = clearvo.post(italian_invoice())
    assert spoiled.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        spoiled.json()
    assert InvoiceSubmission.objects.count() == 1
    assert graphql(sandbox, token, QUERY).status_code == 200  # another service: no faults


def test_a_fault_planned_on_the_sandbox_page_fails_the_next_call(sandbox, clearvo):
    plan = {"service": "clearvo", "operation": "POST /invoices", "when": "after", "kind": "html", "status": "504"}
    plan |= {"retry_after": "", "hold_seconds": "", "remaining": "1"}

    page = post_sandbox_form(sandbox.base, "/sandbox/faults/", {f"plan-{name}": value for name, value in plan.items()})

    assert page.url.endswith("/sandbox/#faults") and "Planned: 1× html 504 after" in page.text
    assert page.text.count('data-testid="fault-plan"') == 1
    failed = clearvo.post(italian_invoice())
    assert failed.status_code == 504 and "504 Gateway Time-out" in failed.text
    assert InvoiceSubmission.objects.count() == 1
    assert not FaultPlan.objects.exists()
    assert clearvo.post(invoice("DE")).status_code == 200


def test_an_impossible_fault_plan_on_the_sandbox_page_is_explained_and_not_planned(sandbox):
    plan = {"service": "clearvo", "operation": "", "when": "before", "kind": "hold", "status": "503"}
    plan |= {"retry_after": "", "hold_seconds": "", "remaining": "1"}

    page = post_sandbox_form(sandbox.base, "/sandbox/faults/", {f"plan-{name}": value for name, value in plan.items()})

    assert page.status_code == 200
    assert "“answer held back” cannot happen before the work." in page.text
    assert 'aria-invalid="true"' in page.text
    assert not FaultPlan.objects.exists()


@pytest.mark.parametrize(("name", "value"), [("remaining", "2147483647"), ("hold_seconds", "600")])
def test_a_fault_plan_that_would_tie_up_the_server_is_refused(sandbox, name, value):
    plan = {"service": "clearvo", "operation": "", "when": "after", "kind": "hold", "status": "503"}
    plan |= {"retry_after": "", "hold_seconds": "5", "remaining": "1", name: value}

    page = post_sandbox_form(sandbox.base, "/sandbox/faults/", {f"plan-{key}": item for key, item in plan.items()})

    assert page.status_code == 200
    assert 'aria-invalid="true"' in page.text
    assert not FaultPlan.objects.exists()


def test_a_planned_fault_removed_on_the_sandbox_page_no_longer_strikes(sandbox, clearvo):
    plan = fail_next("clearvo", count=5, status=500)

    page = post_sandbox_form(sandbox.base, f"/sandbox/faults/{plan.pk}/delete/", {})

    assert page.status_code == 200 and "No faults planned." in page.text
    assert clearvo.post(italian_invoice()).status_code == 200


def test_the_sandbox_page_lists_every_scenario(sandbox):
    page = requests.get(f"{sandbox.base}/sandbox/", timeout=10)

    for trigger in TRIGGERS:
        assert f"<code>{trigger.suffix}</code>" in page.text


def test_faults_after_the_work_apply_to_every_service(sandbox, token):
    fail_next("clearfacts-graphql", when="after", kind="invalid_json")

    response = graphql(sandbox, token, QUERY)

    assert response.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert json.loads(response.text.removeprefix(")]}',\n"))["data"]["accountant"]["name"]
    log = RequestLog.objects.get()
    assert (log.status, log.fault_when, log.fault_kind, log.work_status) == (200, "after", "invalid_json", 200)


def test_the_fault_kinds_changed_in_the_admin_are_stored_comma_separated(clearvo, admin_client):
    change_url = admin_client.get(reverse("admin:sandbox_sandboxsettings_changelist")).url
    form = dict.fromkeys(("fault_rate", "after_commit_share", "fault_service", "hold_seconds"), "")
    form |= {"latency_ms": "", "time_factor": "", "bandwidth_kbps": "", "fault_kinds": ["drop", "hold"]}

    assert admin_client.post(change_url, form).status_code == 302

    assert SandboxSettings.objects.get().fault_kinds == "drop,hold"
    assert admin_client.get(change_url).content.count(b"checked") == 2


def test_the_request_log_page_shows_what_a_fault_after_the_work_did(sandbox, clearvo):
    fail_next("clearvo", when="after", kind="drop")
    with pytest.raises(requests.ConnectionError):
        clearvo.post(italian_invoice())

    page = requests.get(f"{sandbox.base}/sandbox/requests/?service=clearvo", timeout=10)

    assert "no answer" in page.text and "injected: drop after" in page.text and "(work: 200)" in page.text


def test_the_request_log_page_lists_calls_and_filters_them(sandbox, token):
    graphql(sandbox, token, QUERY)
    graphql(sandbox, None, QUERY)

    page = requests.get(f"{sandbox.base}/sandbox/requests/?service=clearfacts-graphql&status=401", timeout=10)

    assert page.status_code == 200
    assert page.text.count("<code>accountant</code>") == 1


def test_the_index_page_lists_the_demo_users(sandbox):
    page = requests.get(f"{sandbox.base}/sandbox/", timeout=10)

    assert page.status_code == 200
    for user in ClearfactsUser.objects.all():
        assert user.username in page.text


def test_the_seed_is_idempotent_and_prints_the_demo_logins_and_test_key(transactional_db, settings):
    out = io.StringIO()
    call_command("sandbox_seed", stdout=out)
    counts = [model.objects.count() for model in (Company, Customer, Statistic, ClearfactsUser, OAuthClient)]
    call_command("sandbox_seed", stdout=io.StringIO())

    assert [model.objects.count() for model in (Company, Customer, Statistic, ClearfactsUser, OAuthClient)] == counts
    assert counts[0] >= 6 and Customer.objects.filter(company__company_number="0441908244").count() > 100
    assert Statistic.objects.dates("month", "month").count() == 24
    text = out.getvalue()
    assert ASSOCIATE in text and "clearfacts-demo" in text
    assert settings.SANDBOX_CLEARVO_TEST_KEY in text
    client = OAuthClient.objects.get(client_id=settings.OIDC_RP_CLIENT_ID)
    assert client.check_client_secret(settings.OIDC_RP_CLIENT_SECRET)
    assert f"{settings.SITE_URL}/accounts/oidc/callback/" in client.redirect_uri_list


def test_seeded_company_numbers_are_valid_belgian_numbers(transactional_db):
    from stdnum.be import vat

    call_command("sandbox_seed", stdout=io.StringIO())
    assert all(vat.is_valid(number) for number in Company.objects.values_list("company_number", flat=True))


def test_without_the_sandbox_there_are_no_sandbox_urls_and_no_admin(tmp_path):
    script = (
        "from django.urls import resolve, Resolver404\n"
        "from django.contrib import admin\n"
        "from django.conf import settings\n"
        "try:\n    resolve('/sandbox/'); print('mounted')\nexcept Resolver404:\n    print('absent')\n"
        "print(any(m._meta.app_label.startswith('sandbox') for m in admin.site._registry))\n"
        "print(any(app.startswith('sandbox') for app in settings.INSTALLED_APPS))\n"
    )
    env = {
        "SANDBOX": "0",
        "VAR_DIR": str(tmp_path),
        "CLEARFACTS_OIDC_ISSUER": "https://login.clearfacts.be",
        "CLEARFACTS_GRAPHQL_URL": "https://api.clearfacts.be/graphql",
        "CLEARVO_API_URL": "https://api.clearvo.io/v1",
        "OIDC_RP_CLIENT_ID": "x",
        "OIDC_RP_CLIENT_SECRET": "y",
        "CLEARVO_API_KEY": "ck_live_z",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["absent", "False", "False"]
