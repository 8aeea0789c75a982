from django.urls import path

from sandbox.clearfacts import graphql_view, oidc_views

app_name = "clearfacts"

# /sandbox/clearfacts/... (the issuer is /sandbox/clearfacts)
urlpatterns = [
    path(".well-known/openid-configuration", oidc_views.discovery, name="discovery"),
    path("oauth2-server/authorize", oidc_views.authorize, name="authorize"),
    path("oauth2-server/token", oidc_views.token, name="token"),
    path("oauth2-server/userinfo", oidc_views.userinfo, name="userinfo"),
    path("oauth2-server/jwks.json", oidc_views.jwks, name="jwks"),
    path("oauth2-server/revoke", oidc_views.revoke, name="revoke"),
    path("oauth2-server/logout", oidc_views.end_session, name="end-session"),
    path("login/", oidc_views.login, name="login"),
    path("logout/", oidc_views.logout, name="logout"),
    path("tokens/", oidc_views.personal_tokens, name="tokens"),
    path("graphql", graphql_view.graphql_endpoint, name="graphql"),
]
