"""The site as it is deployed and as `make run` starts it, in real processes."""

import io
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import requests
from cryptography.fernet import Fernet

from tests import samples
from tests.conftest import ROOT, VENV_BIN, child_environ, free_port, wait_until
from tests.portal_site import Portal, sign_in

pytestmark = pytest.mark.slow


def wait_for_health(base_url, process, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            pytest.fail(f"the process exited with {process.popen.returncode}:\n{process.output()[-6000:]}")
        try:
            response = requests.get(f"{base_url}/healthz", timeout=5)
            if response.status_code == 200:
                return response
        except requests.RequestException:  # not listening yet, or a cold worker still importing
            pass
        time.sleep(0.5)
    pytest.fail(f"/healthz did not answer 200 within {timeout} s:\n{process.output()[-6000:]}")


def production_env(process_env, tmp_path):
    return process_env | {
        "DEBUG": "0",
        "SECRET_KEY": "prod-" + Fernet.generate_key().decode() + Fernet.generate_key().decode(),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SANDBOX": "0",
        "SITE_URL": "https://portal.example.test",
        "ALLOWED_HOSTS": "portal.example.test,127.0.0.1",
        "CLEARFACTS_OIDC_ISSUER": "https://login.clearfacts.be",
        "CLEARFACTS_GRAPHQL_URL": "https://api.clearfacts.be/graphql",
        "CLEARVO_API_URL": "https://api.clearvo.io/v1",
        "OIDC_RP_CLIENT_ID": "portal",
        "OIDC_RP_CLIENT_SECRET": "secret",
        "CLEARVO_API_KEY": "ck_live_example",
        "VAR_DIR": str(tmp_path / "var"),
    }


def test_gunicorn_serves_the_production_profile(process_env, start_process, tmp_path):
    env = production_env(process_env, tmp_path)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=env, cwd=ROOT, check=True)
    port = free_port()
    server = start_process(
        [str(VENV_BIN / "gunicorn"), "portal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env,
        name="gunicorn",
    )
    base = f"http://127.0.0.1:{port}"

    health = wait_for_health(base, server, timeout=60)
    assert health.json()["database"] == "ok"

    # Behind the TLS proxy: the page, the security headers and a CSP without inline scripts.
    page = requests.get(
        f"{base}/accounts/sign-in/",
        headers={"Host": "portal.example.test", "X-Forwarded-Proto": "https"},
        timeout=10,
    )
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    stylesheet = page.text.split('href="/static/vendor/bootstrap/bootstrap.min', 1)[1].split('"', 1)[0]
    assert stylesheet.startswith(".") and stylesheet.endswith(".css"), "static files are not hashed"
    static = requests.get(
        f"{base}/static/vendor/bootstrap/bootstrap.min{stylesheet}",
        headers={"Host": "portal.example.test", "X-Forwarded-Proto": "https"},
        timeout=10,
    )
    assert static.status_code == 200 and "max-age" in static.headers["Cache-Control"]

    # Plain HTTP is redirected to HTTPS, except the health check that load balancers probe.
    plain = requests.get(
        f"{base}/accounts/sign-in/", headers={"Host": "portal.example.test"}, allow_redirects=False, timeout=10
    )
    assert plain.status_code == 301
    assert plain.headers["Location"] == "https://portal.example.test/accounts/sign-in/"


def test_the_production_profile_passes_check_deploy(process_env, tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(process_env, tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_its_secrets(process_env, tmp_path):
    env = production_env(process_env, tmp_path)
    del env["SECRET_KEY"]
    result = subprocess.run([sys.executable, "manage.py", "check"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=0" in result.stderr


def test_without_the_sandbox_the_services_must_be_configured(process_env, tmp_path):
    env = production_env(process_env, tmp_path) | {"CLEARVO_API_KEY": ""}
    result = subprocess.run([sys.executable, "manage.py", "check"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert "CLEARVO_API_KEY is not set" in result.stderr


def embedded_env(port):
    """The environment of a new user: none of the service variables CI sets, only the port."""
    env = {
        key: value
        for key, value in child_environ().items()
        if key
        not in {
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "CACHE_URL",
            "DJANGO_SETTINGS_MODULE",
            "DEBUG",
            "SANDBOX",
            "SITE_URL",
            "VAR_DIR",
            "PORT",
        }
    }
    # VENV: the suite's virtualenv, so that make run does not install the requirements again.
    return env | {"PORT": str(port), "VENV": str(VENV_BIN.parent)}


def fresh_clone(destination):
    """The files a clone of this checkout would hold (tracked, and new ones not ignored): no var/, no .env."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted but not yet committed is listed too
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)  # keeps mtimes, so make sees the venv as installed
    return destination


def in_clone(clone, env, code):
    """Runs Python in a Django shell of the clone, with the settings its `make run` has."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        env=env,
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]  # after the shell's own "objects imported" line


def test_make_run_serves_health_runs_tasks_and_stops_on_ctrl_c(tmp_path, start_process):
    clone = fresh_clone(tmp_path / "clone")
    port = free_port()
    env = embedded_env(port)
    site = f"http://localhost:{port}"
    started = time.monotonic()
    stack = start_process(["make", "run"], env, name="make-run", cwd=clone)

    health = wait_for_health(f"http://127.0.0.1:{port}", stack, timeout=90)
    assert time.monotonic() - started < 90
    assert health.json() == health.json() | {"status": "ok", "database": "ok", "broker": "ok"}
    assert (clone / "var" / "db.sqlite3").exists(), "make run did not use SQLite under var/"
    assert f"Portal: {site}/" in stack.output()

    # A task sent by a Django process over the filesystem broker is run by make run's worker.
    in_clone(clone, env, "from portal.tasks import heartbeat; heartbeat.delay('make-run')")
    wait_until(
        lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["worker_last_seen"],
        timeout=30,
        interval=0.5,
        message="make run's worker to run the task",
        process=stack,
    )
    output = stack.output()
    assert "worker" in output and "beat" in output and "Starting development server" in output
    health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
    assert (health["status"], health["worker_services"]) == ("ok", "same"), "the worker talks to other addresses"

    # A demo user signs in and uploads a PDF: make run's worker hands it to the sandbox, at the
    # web server's address (not at the port honcho gave the worker).
    browser, dashboard = sign_in(Portal(site), "an.maes@bakkerij-maes.be")
    assert dashboard.url == f"{site}/", dashboard.text[-3000:]
    upload_url = f"{site}/administrations/0652381715/documents/upload/"
    accepted = browser.post(
        upload_url,
        data={"destination": "inbox", "invoice_type": "PURCHASE", "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        files=[("files", ("make-run.pdf", io.BytesIO(samples.pdf(pages=2)), "application/pdf"))],
        headers={"Referer": upload_url},
        timeout=60,
    )
    assert 'data-testid="upload-accepted"' in accepted.text, accepted.text[-3000:]
    received = "from sandbox.clearfacts.models import Document; print(Document.objects.filter(filename='make-run.pdf').count())"
    wait_until(
        lambda: in_clone(clone, env, received) == "1",
        timeout=60,
        interval=1,
        message="the sandbox to receive the document from make run's worker",
        process=stack,
    )
    status = "from clearfacts_app.models import Document; print(Document.objects.get().status)"
    wait_until(
        lambda: in_clone(clone, env, status) == "sent",
        timeout=30,
        interval=1,
        message="the portal to record the document as sent",
        process=stack,
    )

    # The demo's error pages are the site's own, not Django's debug pages listing every URL pattern.
    missing = browser.get(f"{site}/no-such-page/", timeout=10)
    assert missing.status_code == 404 and 'data-testid="error-page"' in missing.text
    assert "DEBUG = True" not in missing.text

    # Ctrl-C in the terminal reaches the whole process group: web, worker and beat all stop.
    os.killpg(stack.popen.pid, signal.SIGINT)
    stack.popen.wait(timeout=30)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    leftovers = subprocess.run(["pgrep", "-s", str(stack.popen.pid)], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", f"processes still running after Ctrl-C: {leftovers}"
