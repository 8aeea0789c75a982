"""Roles where no request is: the upload task asks again before sending, and the sync says who is a client user.

Against the sandbox over HTTP: what the sandbox stored is counted, not what the portal believes.
"""

from django.test import override_settings

from accounts.models import Membership
from clearfacts_app import documents
from clearfacts_app.models import Activity, AdministrationAccess, Document
from clearfacts_app.roles import Role
from clearfacts_app.sync import _role_from_clearfacts, sync_user
from sandbox.clearfacts import models as sandbox
from tests.clearfacts_app.test_document_outcomes import queued_document
from tests.clearfacts_app.test_documents import uploads_received
from tests.personas import AN, BAKKERIJ, SOFIE
from tests.signed_in import sign_in_directly

Status = Document.Status


def lowered(user, role=Role.VIEWER):
    AdministrationAccess.objects.filter(user=user).update(role=role)


def test_an_upload_whose_uploader_became_a_viewer_sends_nothing(an, portal):
    document = queued_document(an.user)
    lowered(an.user)  # between the upload (the request) and the task

    assert documents.document_send(document_id=document.pk, last_attempt=False) == Status.FAILED

    document.refresh_from_db()
    assert document.reason_code == Document.Reason.NOT_ALLOWED
    assert "may no longer upload to this administration" in document.reason_text
    assert sandbox.Document.objects.count() == 0 and uploads_received() == 0
    page = an.get(f"{portal.url}/administrations/{BAKKERIJ}/documents/{document.pk}/", timeout=30)
    assert "may no longer upload to this administration" in page.text


def test_a_retry_of_that_upload_asks_again(an):
    document = queued_document(an.user)
    lowered(an.user)
    documents.document_send(document_id=document.pk, last_attempt=False)
    Document.objects.filter(pk=document.pk).update(status=Status.QUEUED)  # as "Try again" does

    assert documents.document_send(document_id=document.pk, last_attempt=False) == Status.FAILED
    assert sandbox.Document.objects.count() == 0


def test_an_upload_whose_uploader_kept_their_role_is_sent(an):
    document = queued_document(an.user)
    lowered(an.user, Role.DRAFTER)

    assert documents.document_send(document_id=document.pk, last_attempt=False) == Status.SENT
    assert sandbox.Document.objects.count() == 1


def test_the_sync_makes_a_client_user_a_client_and_records_the_change(portal):
    user = sign_in_directly(portal, AN).user
    assert user.membership.kind == Membership.Kind.CLIENT  # the sandbox answered FORBIDDEN to the associates
    Membership.objects.filter(user=user).update(kind=Membership.Kind.ASSOCIATE)

    sync_user(user=user)

    assert Membership.objects.get(user=user).kind == Membership.Kind.CLIENT
    activity = Activity.objects.get(action="membership.changed")
    assert activity.administration is None and activity.office_id == user.membership.office_id
    assert activity.changes == {"kind": [Membership.Kind.ASSOCIATE, Membership.Kind.CLIENT]}
    assert activity.data["user"] == user.pk


def test_the_sync_keeps_an_associate_an_associate_and_records_nothing_unchanged(portal):
    user = sign_in_directly(portal, SOFIE).user
    assert (user.membership.kind, user.membership.role) == (Membership.Kind.ASSOCIATE, Membership.Role.ADMIN)

    sync_user(user=user)

    assert not Activity.objects.filter(action="membership.changed").exists()


def test_a_client_users_new_grants_start_with_the_default_role(portal):
    user = sign_in_directly(portal, AN).user
    assert list(AdministrationAccess.objects.filter(user=user).values_list("role", flat=True)) == [Role.APPROVER]


def test_an_unreachable_clearfacts_keeps_the_kind(portal):
    user = sign_in_directly(portal, AN).user
    with override_settings(CLEARFACTS_GRAPHQL_URL="http://127.0.0.1:9/graphql"):
        assert _role_from_clearfacts(user, user.membership) == (Membership.Role.MEMBER, Membership.Kind.CLIENT)


def test_a_person_clearfacts_cannot_place_starts_as_a_client_user(portal):
    """Seen for the first time while Clearfacts cannot say (down, a scope missing): the kind with
    fewer rights (no office pages) until a sync can tell."""
    user = sign_in_directly(portal, SOFIE).user
    with override_settings(CLEARFACTS_GRAPHQL_URL="http://127.0.0.1:9/graphql"):
        assert _role_from_clearfacts(user, None) == (Membership.Role.MEMBER, Membership.Kind.CLIENT)
    assert _role_from_clearfacts(user, None) == (Membership.Role.ADMIN, Membership.Kind.ASSOCIATE)
