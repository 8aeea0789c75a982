from datetime import timedelta

from django.core.management.base import BaseCommand

from sandbox.clearfacts import keys


class Command(BaseCommand):
    help = "Signs new tokens with a fresh RS256 key; the old key stays in the JWKS for a grace period."

    def add_arguments(self, parser):
        parser.add_argument("--grace-days", type=int, default=keys.GRACE_PERIOD.days)

    def handle(self, *args, grace_days, **options):
        kid, still_published = keys.rotate(grace=timedelta(days=grace_days))
        self.stdout.write(f"Now signing with {kid}; also published: {', '.join(still_published) or 'none'}")
