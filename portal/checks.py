from django.conf import settings
from django.core.checks import Error, Tags, register

REQUIRED_WITHOUT_SANDBOX = (
    "CLEARFACTS_OIDC_ISSUER",
    "CLEARFACTS_GRAPHQL_URL",
    "CLEARVO_API_URL",
    "OIDC_RP_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET",
    "CLEARVO_API_KEY",
)


@register(Tags.compatibility)
def integrations_configured(app_configs, **kwargs):
    """Without the sandbox, the real services must be configured explicitly."""
    if settings.SANDBOX:
        return []
    return [
        Error(f"{name} is not set", hint="Set it in the environment (see .env.example).", id="portal.E001")
        for name in REQUIRED_WITHOUT_SANDBOX
        if not getattr(settings, name)
    ]


@register(Tags.security, deploy=True)
def no_sandbox_in_production(app_configs, **kwargs):
    """The sandbox is a public fake identity provider and request log; its credentials are published."""
    errors = []
    if settings.SANDBOX:
        errors.append(
            Error(
                "SANDBOX is on: a fake Clearfacts sign-in, its GraphQL API and a public request log are served "
                "under /sandbox/",
                hint="Leave SANDBOX unset (it follows DEBUG) or set SANDBOX=0.",
                id="portal.E002",
            )
        )
    sandbox_credentials = {
        "OIDC_RP_CLIENT_SECRET": {settings.SANDBOX_OIDC_CLIENT_SECRET},
        "CLEARVO_API_KEY": {settings.SANDBOX_CLEARVO_TEST_KEY, settings.SANDBOX_CLEARVO_LIVE_KEY},
    }
    errors += [
        Error(
            f"{name} is the sandbox's published credential",
            hint="Set the credential Clearfacts or Clearvo issued for this portal.",
            id="portal.E003",
        )
        for name, published in sandbox_credentials.items()
        if getattr(settings, name) in published
    ]
    return errors
