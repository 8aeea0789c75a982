from allauth.mfa.models import Authenticator
from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from portal.crypto import EncryptedTextField, decrypt, encrypt

# allauth keeps these inside Authenticator.data, encrypted by accounts.staff.StaffMFAAdapter.
AUTHENTICATOR_SECRETS = ("secret", "seed")


class Command(BaseCommand):
    help = (
        "Re-encrypts every secret at rest with the first FIELD_ENCRYPTION_KEY. Rotation: put the new key first, "
        "run this, then remove the old key."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            for model in apps.get_models():
                fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
                if fields:
                    count = 0
                    for obj in model._default_manager.all().iterator():
                        model._default_manager.filter(pk=obj.pk).update(**{name: getattr(obj, name) for name in fields})
                        count += 1
                    self.stdout.write(f"{model._meta.label}: {count} re-encrypted")
            count = 0
            for authenticator in Authenticator.objects.all().iterator():
                data = authenticator.data
                for key in AUTHENTICATOR_SECRETS:
                    if key in data:
                        data[key] = encrypt(decrypt(data[key]))
                Authenticator.objects.filter(pk=authenticator.pk).update(data=data)
                count += 1
            self.stdout.write(f"mfa.Authenticator: {count} re-encrypted")
