import logging

from allauth.account.forms import LoginForm
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import credentials, provider
from accounts.oidc import language_of
from accounts.roles import role_not_required
from clearfacts_app import client
from clearfacts_app.documents import documents_resume
from clearfacts_app.sync import sync_user
from portal.redirects import safe_next

logger = logging.getLogger(__name__)

FAILURES = {
    "provider_unreachable": (
        _("Clearfacts could not be reached"),
        _("We could not contact Clearfacts to sign you in. Please try again in a few minutes."),
        503,
    ),
    "access_denied": (
        _("Access was not granted"),
        _(
            "You declined to let the portal use your Clearfacts account. The portal needs it to show your "
            "administrations; sign in again and choose Allow when you are ready."
        ),
        403,
    ),
    "state_mismatch": (
        _("This sign-in has expired"),
        _("The sign-in took too long, was already completed or was started in another window. Please start again."),
        400,
    ),
    "code_rejected": (
        _("Clearfacts did not accept this sign-in"),
        _("The sign-in code had expired or was already used. Please sign in again."),
        400,
    ),
    "invalid_token": (
        _("The sign-in could not be verified"),
        _(
            "The answer from Clearfacts did not pass our security checks, so you were not signed in. Please try "
            "again; if it keeps happening, contact support."
        ),
        400,
    ),
    "client_rejected": (
        _("The portal cannot sign anyone in just now"),
        _(
            "Clearfacts did not accept the portal's own credentials. This is a configuration problem on our "
            "side, not something you did, and it has been logged for the people who run the portal. Please try "
            "again later."
        ),
        503,
    ),
    "provider_error": (
        _("Clearfacts reported a problem"),
        _("Clearfacts could not complete the sign-in. Please try again."),
        502,
    ),
    "failed": (_("Sign-in failed"), _("You could not be signed in. Please try again."), 400),
}


def sign_in_failed(request, reason: str, *, detail: str = ""):
    """The friendly failure page; the log gets the reason and detail, never a token."""
    logger.warning("Clearfacts sign-in failed: %s %r", reason, detail)  # %r: no forged log lines
    title, explanation, status = FAILURES.get(reason, FAILURES["failed"])
    return render(
        request,
        "accounts/sign_in_failed.html",
        {"title": title, "explanation": explanation, "reason": reason},
        status=status,
    )


def _safe_next(request) -> str:
    return safe_next(request, request.GET.get("next"))


@login_not_required
@require_GET
def sign_in(request):
    if request.user.is_authenticated:
        return HttpResponseRedirect(_safe_next(request) or reverse("portal:dashboard"))
    return render(request, "accounts/sign_in.html", {"next": _safe_next(request), "staff_form": LoginForm()})


@method_decorator(login_not_required, name="dispatch")
class ClearfactsSignInView(OIDCAuthenticationRequestView):
    """Starts the code flow at the authorization endpoint of the discovery document."""

    def __init__(self, **kwargs):
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)  # the parent reads endpoint settings
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request):
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider.configuration()["authorization_endpoint"]
        except provider.SignInError as error:
            return sign_in_failed(request, error.reason, detail=str(error))
        response = super().get(request)
        request.session["oidc_login_next"] = _safe_next(request) or None
        return response

    def get_extra_params(self, request):
        scopes = settings.OIDC_RP_SCOPES.split()
        granting = request.GET.get("grant", "")
        granting = granting if granting in GRANTABLE_SCOPES else ""
        if granting and granting not in scopes:
            scopes.append(granting)
        request.session["oidc_requested_scope"] = " ".join(scopes)
        params = {"scope": " ".join(scopes)}
        if granting or ("offline_access" in scopes and not _holds_refresh_token(request.user)):
            # OpenID Connect Core §11: offline_access is ignored unless the user is asked for consent.
            params["prompt"] = "consent"
        return params


# Scopes an office can grant on top of OIDC_RP_SCOPES from a page that needs them ("grant access").
GRANTABLE_SCOPES = {
    "accountant",
    "statistics",
    "read_administrations",
    "associate_read",
    "associate_actions",
    "journal_read",
    "contact_read",
    "upload_document",
    "archive_read",
    "archive_actions",
}


def _holds_refresh_token(user) -> bool:
    credential = credentials.credential_for(user) if user.is_authenticated else None
    return credential is not None and credential.is_valid and bool(credential.refresh_token)


@method_decorator(login_not_required, name="dispatch")
class ClearfactsCallbackView(OIDCAuthenticationCallbackView):
    def get(self, request):
        error = request.GET.get("error")
        if error:
            # Only an answer to our own request ends it; a forged link signs no one out.
            request.session.get("oidc_states", {}).pop(request.GET.get("state"), None)
            request.session.modified = True
            return sign_in_failed(
                request, "access_denied" if error == "access_denied" else "provider_error", detail=error[:200]
            )
        state = request.GET.get("state")
        if not request.GET.get("code") or state not in request.session.get("oidc_states", {}):
            return sign_in_failed(request, "state_mismatch")
        try:
            return super().get(request)
        except provider.SignInError as failure:
            return sign_in_failed(request, failure.reason, detail=str(failure))

    def login_failure(self):
        return sign_in_failed(self.request, "failed", detail="no active user")

    def login_success(self):
        response = super().login_success()
        language = language_of(self.user.locale)
        # The messages of this answer are rendered on the next page, which speaks the user's language.
        with translation.override(language or translation.get_language()):
            _sync_with_messages(self.request, quiet=True)
            if not credentials.works_in_background(credentials.credential_for(self.user)):
                messages.warning(self.request, str(NO_BACKGROUND_ACCESS))  # stored as text: in this language
        documents_resume(user_id=self.user.pk)  # uploads that waited for this sign-in
        if language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite="Lax",
                secure=self.request.is_secure(),
            )
        return response


NO_BACKGROUND_ACCESS = _(
    "Clearfacts gave the portal access for one hour only (no refresh token), so work the portal does for you in "
    "the background, such as sending your uploads, stops when that hour is over. Sign in again to continue it."
)


def _sync_with_messages(request, *, quiet: bool) -> None:
    try:
        result = sync_user(user=request.user)
    except client.MissingScope as error:
        messages.warning(
            request,
            _("Your Clearfacts sign-in does not allow reading %(what)s, so it could not be brought up to date.")
            % {"what": error.details.get("scope", _("your office"))},
        )
    except client.NotAuthorized:
        messages.error(request, _("Clearfacts refused your sign-in. Please sign in again."))
    except client.ClearfactsAnswerInvalid:
        logger.warning("sync for user %s: Clearfacts' answer was unusable", request.user.pk, exc_info=True)
        messages.warning(
            request,
            _(
                "Clearfacts could not say just now which administrations you have; they stay as they were. "
                "Try again later."
            ),
        )
    except client.ClearfactsError:
        logger.warning("sync after sign-in failed for user %s", request.user.pk, exc_info=True)
        messages.warning(
            request, _("Clearfacts could not be reached, so your administrations may be out of date. Try again later.")
        )
    else:
        if not quiet or result.withdrawn or result.granted:
            messages.success(
                request,
                ngettext(
                    "Up to date with Clearfacts: you have access to %(count)d administration.",
                    "Up to date with Clearfacts: you have access to %(count)d administrations.",
                    result.administrations,
                )
                % {"count": result.administrations},
            )


@require_POST
@role_not_required
def refresh(request):
    """Repeats the sync with Clearfacts: office, administrations and grants."""
    _sync_with_messages(request, quiet=False)
    return HttpResponseRedirect(safe_next(request, request.POST.get("next")) or reverse("portal:dashboard"))


@require_GET
def reauthenticate(request):
    """Clearfacts no longer accepts the stored token: ask for a new sign-in."""
    credential = credentials.credential_for(request.user)
    if credential is not None and credential.is_valid:
        return HttpResponseRedirect(_safe_next(request) or reverse("portal:dashboard"))
    return render(request, "accounts/reauthenticate.html", {"next": _safe_next(request)}, status=401)


@login_not_required
@require_POST
def sign_out(request):
    """Ends the portal session, revokes and forgets the stored Clearfacts token.

    Where the provider offers RP-initiated logout (`end_session_endpoint`), the browser then ends
    its session there too, so the next "Sign in with Clearfacts" may be someone else.
    """
    was_clearfacts_user = request.user.is_authenticated and request.user.is_clearfacts_user
    if request.user.is_authenticated:
        credentials.credential_forget(user=request.user)
    logout(request)
    sign_in_url = reverse("accounts:sign-in")
    end_session = was_clearfacts_user and provider.end_session_url(
        post_logout_redirect_uri=request.build_absolute_uri(sign_in_url)
    )
    return HttpResponseRedirect(end_session or sign_in_url)
