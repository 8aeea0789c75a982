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
