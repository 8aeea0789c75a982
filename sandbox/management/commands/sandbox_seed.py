from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from sandbox.clearfacts.seed import DEMO_PASSWORD
from sandbox.clearfacts.seed import seed as seed_clearfacts
from sandbox.clearvo.seed import seed as seed_clearvo


class Command(BaseCommand):
    help = "Creates (or brings up to date) the sandbox's demo offices, companies, users and API keys."

    def handle(self, *args, **options):
        with transaction.atomic():
            users = seed_clearfacts()
            clearvo = seed_clearvo()
        self.stdout.write(self.style.SUCCESS("Sandbox seeded."))
        self.stdout.write(
            f"\n  Demo logins (Sign in with Clearfacts at {settings.SITE_URL}/, password {DEMO_PASSWORD}):"
        )
        for line in users:
            self.stdout.write(f"    {line}")
        self.stdout.write("")
        for line in clearvo:
            self.stdout.write(f"  {line}")
