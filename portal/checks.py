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
