"""Platform staff accounts: local users who sign in with e-mail, password and TOTP (allauth)."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend
from allauth.mfa.adapter import DefaultMFAAdapter

from portal.crypto import decrypt, encrypt


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

    def send_password_reset_mail(self, user, email, context):
        # Clearfacts users have no password here to reset; only staff get a reset link.
        if user.is_staff and not user.is_clearfacts_user:
            super().send_password_reset_mail(user, email, context)

    def get_login_redirect_url(self, request):
        if request.user.is_staff:
            return super().get_login_redirect_url(request)
        return "/"


class StaffMFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery seeds are stored encrypted with FIELD_ENCRYPTION_KEY."""

    def encrypt(self, text: str) -> str:
        return encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt(encrypted_text)
