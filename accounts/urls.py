from django.contrib.auth.decorators import login_not_required
from django.urls import path
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from accounts import views

app_name = "accounts"

# /accounts/...
urlpatterns = [
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("oidc/callback/", login_not_required(OIDCAuthenticationCallbackView.as_view()), name="oidc-callback"),
]
