import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.test import override_settings

from portal.crypto import decrypt, encrypt


def test_encrypted_text_round_trips_and_hides_the_plaintext():
    ciphertext = encrypt("an access token")

    assert "access token" not in ciphertext
    assert decrypt(ciphertext) == "an access token"
    assert encrypt("an access token") != ciphertext  # randomised


def test_rotation_keeps_old_values_readable():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        ciphertext = encrypt("secret")
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        assert decrypt(ciphertext) == "secret"
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]), pytest.raises(InvalidToken):
        decrypt(ciphertext)


@pytest.mark.django_db
def test_reencrypt_fields_moves_every_secret_to_the_new_key(member, admin_user):
    import io

    from allauth.mfa.models import Authenticator
    from django.core.management import call_command

    from accounts.models import ClearfactsCredential

    old = Fernet.generate_key().decode()
    new = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        ClearfactsCredential.objects.filter(user=member).update(
            access_token="secret-token", refresh_token="secret-refresh"
        )
        totp = Authenticator.objects.get(user=admin_user)
        totp.data = {"secret": encrypt("JBSWY3DPEHPK3PXP")}
        totp.save()

    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        call_command("reencrypt_fields", stdout=io.StringIO())

    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        assert ClearfactsCredential.objects.get(user=member).access_token == "secret-token"
        assert decrypt(Authenticator.objects.get(user=admin_user).data["secret"]) == "JBSWY3DPEHPK3PXP"
