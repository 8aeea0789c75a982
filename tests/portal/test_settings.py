import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent


def variables_read_by_settings():
    source = (ROOT / "portal" / "settings.py").read_text()
    return set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', source))


def test_every_environment_variable_is_listed_in_env_example():
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), flags=re.M))
    missing = variables_read_by_settings() - listed
    assert not missing, f".env.example does not list {sorted(missing)}"


def test_the_fixed_variable_names_are_the_ones_read():
    fixed = {
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DEBUG",
        "SANDBOX",
        "CLEARFACTS_OIDC_ISSUER",
        "OIDC_RP_CLIENT_ID",
        "OIDC_RP_CLIENT_SECRET",
        "CLEARFACTS_GRAPHQL_URL",
        "CLEARVO_API_URL",
        "FIELD_ENCRYPTION_KEY",
        "SITE_URL",
    }
    assert fixed <= variables_read_by_settings()


def test_embedded_defaults_point_the_services_at_this_sites_sandbox():
    from portal import settings as embedded  # the portal's own, before tests/settings.py moves the services away

    assert embedded.SANDBOX
    assert embedded.CLEARFACTS_OIDC_ISSUER == f"{embedded.SITE_URL}/sandbox/clearfacts"
    assert embedded.CLEARFACTS_GRAPHQL_URL == f"{embedded.SITE_URL}/sandbox/clearfacts/graphql"
    assert embedded.CLEARVO_API_URL == f"{embedded.SITE_URL}/sandbox/clearvo/v1"
    assert embedded.CLEARVO_API_KEY.startswith("ck_test_")


def test_unit_tests_reach_no_service_on_the_sites_own_port():
    """A `make run` on localhost:8000 beside the suite must not answer the unit tests' calls."""
    assert settings.CLEARFACTS_GRAPHQL_URL.startswith("http://127.0.0.1:9/")
    assert settings.CLEARVO_API_URL.startswith("http://127.0.0.1:9/")


def test_the_oidc_failure_redirect_leads_to_the_sign_in_page(client, db):
    from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

    failure = OIDCAuthenticationCallbackView().login_failure()  # mozilla-django-oidc's own answer to a failure

    page = client.get(failure["Location"])
    assert page.status_code == 200
    assert page.resolver_match.view_name == "accounts:sign-in"


def test_a_django_log_record_is_printed_once_in_the_embedded_run(tmp_path):
    """Django's own DEBUG console handler and the portal's would otherwise both print it."""
    import subprocess
    import sys

    from tests.conftest import child_environ

    script = "import django, logging; django.setup(); logging.getLogger('django.request').warning('Forbidden: /x/')"
    env = child_environ() | {"DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "1", "VAR_DIR": str(tmp_path)}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"):
        env.pop(name, None)

    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Forbidden: /x/") == 1, result.stderr
