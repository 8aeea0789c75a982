from django.urls import reverse

from accounts.credentials import CredentialRefused, request_credential
from portal.htmx import redirect_with_next

# Pages a user whose token was refused can still reach.
EXEMPT_VIEWS = {
    "accounts:sign-out",
    "accounts:reauthenticate",
    "accounts:oidc-start",
    "accounts:oidc-callback",
    "set_language",
}


class ClearfactsCredentialMiddleware:
    """A Clearfacts user whose stored token Clearfacts refused is asked to sign in again.

    Staff and anonymous visitors pass; so do views that need no sign-in. HTMX requests get
    HX-Redirect, so the browser navigates instead of swapping the page into a fragment.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or not user.is_clearfacts_user or not getattr(view_func, "login_required", True):
            return None
        if request.resolver_match and request.resolver_match.view_name in EXEMPT_VIEWS:
            return None
        credential = request_credential(user)
        if credential is not None and credential.is_valid:
            request.clearfacts_credential = credential
            return None
        return self.sign_in_again(request)

    def process_exception(self, request, exception):
        """Clearfacts refused the token while the view was calling it (the credential is now invalid)."""
        if isinstance(exception, CredentialRefused) and request.user.is_authenticated:
            return self.sign_in_again(request)
        return None

    @staticmethod
    def sign_in_again(request):
        return redirect_with_next(request, reverse("accounts:reauthenticate"))
