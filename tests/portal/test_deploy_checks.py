"""`manage.py check --deploy` refuses the sandbox and its published credentials in production."""

import re
import subprocess
import sys

import pytest
from django.conf import settings

from tests.conftest import ROOT
from tests.portal.test_processes import production_env

pytestmark = pytest.mark.slow


def check_deploy(env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_check_deploy_fails_with_the_sandbox_on_in_production(process_env, tmp_path):
    result = check_deploy(production_env(process_env, tmp_path) | {"SANDBOX": "1"})

    assert result.returncode != 0
    assert "portal.E002" in result.stderr and "SANDBOX is on" in result.stderr


def test_the_sandbox_left_empty_follows_debug(process_env, tmp_path):
    """What `cp .env.example .env` gives: docker compose (DEBUG=0) has no sandbox, make run has it."""
    production = production_env(process_env, tmp_path) | {"SANDBOX": ""}
    assert check_deploy(production).returncode == 0, "DEBUG=0 with SANDBOX empty must pass check --deploy"

    development = {k: v for k, v in process_env.items() if k != "DATABASE_URL"} | {"DEBUG": "1", "SANDBOX": ""}
    shown = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from django.conf import settings; print(settings.SANDBOX)"],
        env=development,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip().splitlines()[-1] == "True"


def test_env_example_leaves_the_sandbox_to_debug():
    example = (ROOT / ".env.example").read_text()

    assert re.search(r"^SANDBOX=\s", example, flags=re.M), "SANDBOX must ship empty, so it follows DEBUG"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OIDC_RP_CLIENT_SECRET", settings.SANDBOX_OIDC_CLIENT_SECRET),
        ("CLEARVO_API_KEY", settings.SANDBOX_CLEARVO_TEST_KEY),
        ("CLEARVO_API_KEY", settings.SANDBOX_CLEARVO_LIVE_KEY),
    ],
)
def test_check_deploy_fails_with_a_sandbox_credential_in_production(process_env, tmp_path, name, value):
    result = check_deploy(production_env(process_env, tmp_path) | {name: value})

    assert result.returncode != 0
    assert "portal.E003" in result.stderr and f"{name} is the sandbox's published credential" in result.stderr


def web_start_command(serve: str) -> str:
    """docker-compose.yml's web command, with `serve` in place of gunicorn."""
    compose = (ROOT / "docker-compose.yml").read_text()
    command = re.search(r'^  web:\n(?:.*\n)*?    command: sh -c "(.+)"$', compose, flags=re.M)[1]
    return re.sub(r"exec gunicorn .*", serve, command)


def test_the_production_web_container_refuses_to_serve_with_the_sandbox_on(process_env, tmp_path):
    command = web_start_command(serve="echo SERVING")

    refused = subprocess.run(
        ["sh", "-c", command],
        env=production_env(process_env, tmp_path) | {"SANDBOX": "1"},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    served = subprocess.run(
        ["sh", "-c", command], env=production_env(process_env, tmp_path), cwd=ROOT, capture_output=True, text=True
    )

    assert refused.returncode != 0 and "SERVING" not in refused.stdout and "portal.E002" in refused.stderr
    assert served.returncode == 0 and "SERVING" in served.stdout, served.stderr


def test_the_image_is_production_unless_told_otherwise():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert re.search(r"^ENV DEBUG=0\b", dockerfile, flags=re.M), (
        "a bare `docker run` must not be DEBUG with the sandbox"
    )
