from django.urls import path

from accounts import views

app_name = "accounts"

# /accounts/...
urlpatterns = [
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("oidc/start/", views.ClearfactsSignInView.as_view(), name="oidc-start"),
    path("oidc/callback/", views.ClearfactsCallbackView.as_view(), name="oidc-callback"),
    path("sign-in-again/", views.reauthenticate, name="reauthenticate"),
    path("refresh/", views.refresh, name="refresh"),
]
