"""Who is signed in to the simulated Clearfacts: a signed cookie of its own.

It is scoped to /sandbox/clearfacts/ and separate from the portal's session, as a real identity
provider's session lives on its own domain.
"""

import time

from django.core import signing
from django.urls import reverse

from sandbox.clearfacts.models import ClearfactsUser

COOKIE = "cf_sandbox_session"
SALT = "sandbox.clearfacts.session"
MAX_AGE = 8 * 60 * 60


def cookie_path() -> str:
    return reverse("sandbox:clearfacts:login").rsplit("login/", 1)[0]


def signed_in(request) -> tuple[ClearfactsUser | None, int]:
    """The signed-in user and when they signed in (epoch seconds)."""
    try:
        value = request.get_signed_cookie(COOKIE, salt=SALT, max_age=MAX_AGE)
        user_pk, auth_time = (int(part) for part in value.split(":"))
    except (KeyError, ValueError, signing.BadSignature):
        return None, 0
    return ClearfactsUser.objects.filter(pk=user_pk, active=True).select_related("accountant").first(), auth_time


def start(request, response, user: ClearfactsUser) -> None:
    response.set_signed_cookie(
        COOKIE,
        f"{user.pk}:{int(time.time())}",
        salt=SALT,
        max_age=MAX_AGE,
        path=cookie_path(),
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def end(response) -> None:
    response.delete_cookie(COOKIE, path=cookie_path())
