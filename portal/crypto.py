"""Secrets at rest: text encrypted with FIELD_ENCRYPTION_KEY (Fernet, AES-128-CBC + HMAC).

The first key encrypts, every key decrypts, so keys can be rotated: put the new key first, run
`manage.py reencrypt_fields`, then drop the old one.
"""

import functools

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models


@functools.lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    return fernet().decrypt(ciphertext.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text field whose value the database only ever sees encrypted.

    Encryption is randomised, so the field cannot be filtered or indexed on.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)
