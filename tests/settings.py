"""The portal's settings, with the tests' scratch files kept apart from a running `make run`."""

import os
from pathlib import Path

os.environ.setdefault("VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from portal.settings import *  # noqa: E402, F403

# Password hashing strength is not under test; PBKDF2's deliberate slowness would dominate the suite.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Live-server request threads must not keep connections open, or the test database cannot be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
