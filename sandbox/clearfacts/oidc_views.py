"""HTTP endpoints of the simulated Clearfacts OpenID Connect provider."""

import base64
import time
import uuid
from urllib.parse import unquote, urlsplit

from authlib.oauth2 import OAuth2Error
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.redirects import safe_next
from sandbox.clearfacts import bearer, keys, misbehave, session
from sandbox.clearfacts.models import SCOPES, AccessToken, ClearfactsUser, Consent, OAuthClient
from sandbox.clearfacts.oauth import current_issuer, server, userinfo_claims
from sandbox.instrument import sandbox_api
from sandbox.models import Service

# prompt=login asks for a fresh sign-in; one this recent counts as fresh.
FRESH_LOGIN_SECONDS = 120


def base_url(request) -> str:
    """Where the provider's endpoints are: the issuer without a trailing slash."""
    discovery = reverse("sandbox:clearfacts:discovery")
    return request.build_absolute_uri(discovery.removesuffix("/.well-known/openid-configuration"))


def issuer_url(request) -> str:
    """The issuer it announces; with SANDBOX_OIDC_ISSUER_TRAILING_SLASH one ending in "/", as some do."""
    return base_url(request) + ("/" if settings.SANDBOX_OIDC_ISSUER_TRAILING_SLASH else "")


def oauth_fault(status):
    return JsonResponse(
        {"error": "temporarily_unavailable", "error_description": "The server is temporarily unavailable."},
        status=status,
    )


def _oidc_api(operation):
    return sandbox_api(Service.CLEARFACTS_OIDC, operation=operation, fault_response=oauth_fault)


@_oidc_api("discovery")
@require_GET
def discovery(request):
    base = base_url(request)
    return JsonResponse(
        {
            "issuer": issuer_url(request),
            "authorization_endpoint": f"{base}/oauth2-server/authorize",
            "token_endpoint": f"{base}/oauth2-server/token",
            "userinfo_endpoint": f"{base}/oauth2-server/userinfo",
            "jwks_uri": f"{base}/oauth2-server/jwks.json",
            "revocation_endpoint": f"{base}/oauth2-server/revoke",
            "end_session_endpoint": f"{base}/oauth2-server/logout",
            "response_types_supported": ["code", "token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub",
                "username",
                "name",
                "given_name",
                "family_name",
                "preferred_username",
                "email",
                "locale",
            ],
        }
    )


@_oidc_api("jwks")
@require_GET
def jwks(request):
    public = [{**key.as_dict(private=False), "alg": "RS256", "use": "sig"} for key in keys.published_keys()]
    return JsonResponse({"keys": public})


@_oidc_api("token")
@require_POST
def token(request):
    current_issuer.set(issuer_url(request))
    client_id, client_secret = _client_credentials(request)
    request.sandbox_caller = client_id[:100]
    response = server.create_token_response(request)
    if response.status_code == 200 and (kind := misbehave.take(userinfo=False)):
        response = misbehave.broken_token_response(response, kind, client_secret=client_secret)
    return response


@_oidc_api("revocation")
@require_POST
def revoke(request):
    """RFC 7009: 200 whether or not the token was known; 401 for a client that does not authenticate."""
    client_id, _ = _client_credentials(request)
    request.sandbox_caller = client_id[:100]
    return server.create_endpoint_response("revocation", request)


@csrf_exempt  # the client's page posts here from its own site
@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def end_session(request):
    """RP-initiated logout: ends the provider's session, then back to the client if it asks so.

    post_logout_redirect_uri must be on the origin of one of the client's redirect URIs (a real
    provider has them registered separately; the sandbox keeps one list).
    """
    params = request.POST if request.method == "POST" else request.GET
    client = OAuthClient.objects.filter(client_id=params.get("client_id", "")).first()
    target = params.get("post_logout_redirect_uri", "")
    if client is not None and target and _same_origin_as_redirect_uri(client, target):
        if params.get("state"):
            target = f"{target}{'&' if '?' in target else '?'}{urlencode({'state': params['state']})}"
        response = redirect(target)
    else:
        response = render(request, "sandbox/clearfacts/logged_out.html")
    session.end(response)
    return response


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _same_origin_as_redirect_uri(client: OAuthClient, url: str) -> bool:
    return _origin(url)[0] in ("http", "https") and any(
        _origin(url) == _origin(registered) for registered in client.redirect_uri_list
    )


def _client_credentials(request) -> tuple[str, str]:
    """The client id and secret, from HTTP Basic auth or the form (for the log and misbehaviours)."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
            return unquote(client_id), unquote(secret)
        except (ValueError, UnicodeDecodeError):
            return "", ""
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


@_oidc_api("userinfo")
@require_http_methods(["GET", "POST"])
def userinfo(request):
    access_token = bearer.authenticate(request.headers.get("Authorization", ""))
    if access_token is None:
        return JsonResponse(
            {
                "error": "invalid_token",
                "error_description": "The access token is missing, invalid, revoked or expired.",
            },
            status=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    request.sandbox_caller = access_token.user.username
    claims = userinfo_claims(access_token.user, access_token.scope)
    if misbehave.take(userinfo=True):
        claims["sub"] = str(uuid.uuid4())
    return JsonResponse(claims)


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request):
    current_issuer.set(issuer_url(request))
    user, auth_time = session.signed_in(request)
    try:
        grant = server.get_consent_grant(request, end_user=user)
    except OAuth2Error as error:
        return _authorization_error(request, error)

    prompts = (request.GET.get("prompt") or "").split()
    stale = "login" in prompts and time.time() - auth_time > FRESH_LOGIN_SECONDS
    if user is None or stale:
        return redirect(f"{reverse('sandbox:clearfacts:login')}?{urlencode({'next': request.get_full_path()})}")

    client = grant.client
    requested = grant.request.payload.scope or ""
    if request.method == "POST":
        if request.POST.get("decision") != "allow":
            return server.create_authorization_response(request, grant_user=None, grant=grant)
        Consent.objects.update_or_create(user=user, client=client, defaults={"scope": requested})
        return server.create_authorization_response(request, grant_user=user, grant=grant)

    consent = Consent.objects.filter(user=user, client=client).first()
    if consent and set(requested.split()) <= set(consent.scope.split()) and "consent" not in prompts:
        return server.create_authorization_response(request, grant_user=user, grant=grant)
    scopes = [(scope, SCOPES[scope]) for scope in requested.split() if scope in SCOPES]
    return render(request, "sandbox/clearfacts/consent.html", {"client": client, "user": user, "scopes": scopes})


def _authorization_error(request, error: OAuth2Error):
    if getattr(error, "redirect_uri", None):
        # The client and its redirect URI are known: tell the client, as OAuth 2 says.
        return server.handle_error_response(server.create_oauth2_request(request), error)
    return render(
        request,
        "sandbox/clearfacts/authorize_error.html",
        {"error": error.error, "description": error.description},
        status=400,
    )


class LoginForm(forms.Form):
    username = forms.CharField(max_length=254)
    password = forms.CharField(widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        user = ClearfactsUser.objects.filter(username__iexact=data.get("username", ""), active=True).first()
        if user is None or not user.check_password(data.get("password", "")):
            raise forms.ValidationError("Unknown username or wrong password.")
        data["user"] = user
        return data


def _safe_next(request, default: str) -> str:
    """A `next` on the sandbox's own pages, else `default`."""
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    return next_url if next_url.startswith(session.cookie_path()) else default


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def login(request):
    next_url = _safe_next(request, reverse("sandbox:clearfacts:tokens"))
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        response = redirect(next_url)
        session.start(request, response, form.cleaned_data["user"])
        return response
    demo_users = ClearfactsUser.objects.select_related("accountant").order_by("accountant__name", "username")
    return render(request, "sandbox/clearfacts/login.html", {"form": form, "next": next_url, "demo_users": demo_users})


@login_not_required
@require_POST
def logout(request):
    """ "Log in as someone else": ends the session and, from an authorization, goes back to it."""
    next_url = _safe_next(request, "")
    login_url = reverse("sandbox:clearfacts:login")
    response = redirect(f"{login_url}?{urlencode({'next': next_url})}" if next_url else login_url)
    session.end(response)
    return response


class PersonalTokenForm(forms.Form):
    name = forms.CharField(max_length=200)
    scopes = forms.MultipleChoiceField(choices=sorted(SCOPES.items()), widget=forms.CheckboxSelectMultiple)


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def personal_tokens(request):
    """Clearfacts' "Integrations" page: create (shown once) and revoke personal access tokens."""
    user, _ = session.signed_in(request)
    if user is None:
        return redirect(f"{reverse('sandbox:clearfacts:login')}?{urlencode({'next': request.get_full_path()})}")
    form = PersonalTokenForm(request.POST if "create" in request.POST else None)
    new_token = None
    if "revoke" in request.POST:
        now = timezone.now()
        revoke = request.POST["revoke"]
        AccessToken.objects.filter(
            user=user, pk=int(revoke) if revoke.isdigit() else None, revoked_at__isnull=True
        ).update(revoked_at=now, refresh_revoked_at=now)
        return redirect("sandbox:clearfacts:tokens")
    if form.is_valid():
        _, new_token = bearer.create_personal_token(
            user=user, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"]
        )
        form = PersonalTokenForm()
    tokens = user.tokens.select_related("client")
    return render(
        request,
        "sandbox/clearfacts/tokens.html",
        {"user": user, "tokens": tokens, "form": form, "new_token": new_token},
    )
