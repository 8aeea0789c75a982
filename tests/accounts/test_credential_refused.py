"""A token Clearfacts refuses while a view is calling it sends the user to sign in again; the
sign-in middleware knows the refusal as accounts' own exception, not as the Clearfacts client's."""

from django.test import RequestFactory

from accounts.credentials import CredentialRefused
from accounts.middleware import ClearfactsCredentialMiddleware
from clearfacts_app import client


def request_for(user, **headers):
    request = RequestFactory().get("/administrations/", **headers)
    request.user = user
    request.htmx = False
    return request


def test_a_token_refused_during_a_view_asks_the_user_to_sign_in_again(member):
    middleware = ClearfactsCredentialMiddleware(lambda request: None)

    response = middleware.process_exception(request_for(member), client.NotAuthorized("refused"))

    assert response.status_code == 302
    assert response["Location"] == "/accounts/sign-in-again/?next=%2Fadministrations%2F"


def test_other_errors_are_left_to_the_error_pages(member):
    middleware = ClearfactsCredentialMiddleware(lambda request: None)

    assert middleware.process_exception(request_for(member), client.Unavailable("down")) is None
    assert issubclass(client.NotAuthorized, CredentialRefused)
