"""Deriving the office role from the associates query, which Clearfacts keeps from client users."""

import pytest

from accounts.models import Membership, User
from clearfacts_app import client
from clearfacts_app.models import Administration
from clearfacts_app.sync import sync_user
from sandbox.instrument import fail_next
from sandbox.models import RequestLog, Service
from tests.personas import AN, SOFIE
from tests.portal_site import sign_in
from tests.signed_in import sign_in_directly


def test_a_client_user_signs_in_as_a_member_with_their_administration(portal):
    browser, response = sign_in(portal, AN)

    user = User.objects.get()
    assert user.membership.role == Membership.Role.MEMBER
    assert list(Administration.objects.visible_to(user).values_list("name", flat=True)) == ["Bakkerij Maes BV"]
    assert RequestLog.objects.filter(service=Service.CLEARFACTS_GRAPHQL, operation="associates").exists()
    assert "could not be reached" not in response.text and "refused" not in response.text


def signed_in_as_viewer(portal, username) -> User:
    """Signed in, then made a viewer in the portal (a role Clearfacts knows nothing of)."""
    user = sign_in_directly(portal, username).user
    Membership.objects.filter(user=user).update(role=Membership.Role.VIEWER)
    return user


def test_a_client_users_role_set_in_the_portal_survives_the_sync(portal):
    user = signed_in_as_viewer(portal, AN)

    result = sync_user(user=user)

    assert result.administrations == 1
    assert Membership.objects.get(user=user).role == Membership.Role.VIEWER


def test_associates_clearfacts_cannot_answer_keep_the_role(portal):
    user = signed_in_as_viewer(portal, SOFIE)
    fail_next(Service.CLEARFACTS_GRAPHQL, operation="associates", status=503)

    sync_user(user=user)

    assert Membership.objects.get(user=user).role == Membership.Role.VIEWER


def test_a_refused_token_on_the_associates_query_still_stops_the_sync(portal):
    user = signed_in_as_viewer(portal, SOFIE)
    fail_next(Service.CLEARFACTS_GRAPHQL, operation="associates", status=401)

    with pytest.raises(client.NotAuthorized):
        sync_user(user=user)

    assert Membership.objects.get(user=user).role == Membership.Role.VIEWER
