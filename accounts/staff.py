"""Platform staff accounts: local users who sign in with e-mail, password and TOTP (allauth)."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend


class StaffAuthenticationBackend(AuthenticationBackend):
    """allauth's e-mail + password backend, for staff only.

    Clearfacts users have no usable password, and even if one were set they could not use
    this form: only local staff accounts authenticate with a password.
    """

    def authenticate(self, request, **credentials):
        user = super().authenticate(request, **credentials)
        if user is None or not user.is_staff or user.is_clearfacts_user:
            return None
        return user


class StaffAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Staff accounts are created by other staff in the admin, never by sign-up.
        return False
