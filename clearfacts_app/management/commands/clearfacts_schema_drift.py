"""manage.py clearfacts_schema_drift: do the shipped GraphQL operations fit Clearfacts' live schema?"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from accounts.credentials import CredentialTemporarilyUnavailable, CredentialUnavailable, access_token_for
from accounts.models import User
from clearfacts_app.drift import IntrospectionFailed, drift, live_schema


class Command(BaseCommand):
    help = (
        "Introspects the configured Clearfacts GraphQL endpoint and validates every shipped operation "
        "against its live schema; prints the drift and exits with status 1 when there is any."
    )

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--token", help="a Clearfacts personal access token")
        who.add_argument("--user", help="the e-mail address of a portal user whose stored Clearfacts sign-in to use")
        parser.add_argument("--url", help="the GraphQL endpoint (default: CLEARFACTS_GRAPHQL_URL)")

    def handle(self, *args, token=None, user=None, url=None, **options):
        if user and url and url != settings.CLEARFACTS_GRAPHQL_URL:
            # A person's stored sign-in goes to the Clearfacts it was issued by, never elsewhere.
            raise CommandError("--user only works with the configured CLEARFACTS_GRAPHQL_URL; use --token for another.")
        url = url or settings.CLEARFACTS_GRAPHQL_URL
        token = token or self._stored_token(user)
        try:
            schema = live_schema(url, token)
        except IntrospectionFailed as error:
            raise CommandError(str(error)) from error
        report = drift(schema)
        drifted = [entry for entry in report if entry.problems]
        for entry in report:
            label = f"{entry.operation} (assumed fields)" if entry.assumed else entry.operation
            if not entry.problems:
                self.stdout.write(f"ok     {label}")
                continue
            self.stdout.write(f"DRIFT  {label}")
            for problem in entry.problems:
                self.stdout.write(f"         {problem}")
        if drifted:
            assumed = sum(entry.assumed for entry in drifted)
            raise CommandError(
                f"{len(drifted)} of {len(report)} operations do not fit {url} "
                f"({assumed} of them ask for assumed fields, see docs/decisions.md)"
            )
        self.stdout.write(self.style.SUCCESS(f"All {len(report)} operations fit {url}."))

    def _stored_token(self, identifier: str) -> str:
        user = User.objects.filter(Q(email__iexact=identifier) | Q(username__iexact=identifier)).first()
        if user is None:
            raise CommandError(f"No portal user {identifier!r}.")
        try:
            return access_token_for(user)
        except (CredentialUnavailable, CredentialTemporarilyUnavailable) as error:
            raise CommandError(f"No usable Clearfacts sign-in for {identifier!r}: {error}") from error
