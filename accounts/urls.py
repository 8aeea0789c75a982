from django.urls import path

from accounts import views

app_name = "accounts"

# /accounts/...
urlpatterns = [
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-out/", views.sign_out, name="sign-out"),
]
