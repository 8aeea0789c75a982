"""Comments on documents: mentions reach only people who can see the administration; only the author
edits or deletes; the thread works with and without HTMX, and shows no HTML from a body."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from clearfacts_app import comments
from clearfacts_app.models import Activity, DocumentComment, Notification
from clearfacts_app.roles import Role
from clearfacts_app.tasks import send_notification_emails
from tests.factories import make_document, make_user

HTMX = {"HX-Request": "true"}


@pytest.fixture
def document(administration, member):
    return make_document(administration, member, filename="factuur-17.pdf")


def urls(document, comment=None):
    base = f"/administrations/{document.administration.company_number}/documents/{document.pk}"
    found = {
        "page": f"{base}/",
        "list": f"{base}/comments/",
        "create": f"{base}/comments/new/",
        "people": f"{base}/comments/people/",
    }
    if comment is not None:
        found |= {
            "comment": f"{base}/comments/{comment.pk}/",
            "edit": f"{base}/comments/{comment.pk}/edit/",
            "delete": f"{base}/comments/{comment.pk}/delete/",
        }
    return found


def mentions_of(person):
    return Notification.objects.filter(recipient=person, kind=Notification.Kind.MENTIONED)


# --- who can be mentioned ----------------------------------------------------------------------


@pytest.mark.django_db
def test_mentionable_are_the_people_who_see_the_administration_by_name(
    administration, owner, member, viewer, colleague_without_access, outsider
):
    assert list(comments.mentionable(administration)) == [owner, member, viewer]  # Els, Jan, Lies


@pytest.mark.django_db
def test_a_mention_is_a_name_or_the_e_mail_local_part_in_any_case_longest_name_first(
    office, administration, member, viewer
):
    jan = make_user(office, administrations=[administration], name="Jan", email="jan@example.be")

    assert comments.mentions_in("@jan peeters, please look", administration) == [member]
    assert comments.mentions_in("@Jan, please look", administration) == [jan]
    assert comments.mentions_in(f"cc @{viewer.email.partition('@')[0]}.", administration) == [viewer]
    assert comments.mentions_in("write to jan@example.be", administration) == []
    assert comments.mentions_in("@Janssens", administration) == []


@pytest.mark.django_db
def test_the_text_being_typed_after_an_at_sign_is_the_prefix_to_suggest():
    assert comments.typed_prefix("Hello @Ja") == "Ja"
    assert comments.typed_prefix("@Jan Pe") == "Jan Pe"
    assert comments.typed_prefix("mail jan@exa") is None
    assert comments.typed_prefix("no mention") is None


# --- mentions and notifications ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_mention_of_a_colleague_who_sees_the_administration_notifies_them(document, owner, member):
    comment = comments.comment_create(target=document, author=owner, body="@Jan Peeters can you check this one?")

    [notification] = mentions_of(member)
    assert notification.key == f"document-comment:{comment.pk}"
    assert notification.actor == owner
    assert notification.url == f"{urls(document)['page']}#comment-{comment.pk}"
    assert notification.data["filename"] == "factuur-17.pdf"
    assert list(comment.mentioned.all()) == [member]


@pytest.mark.django_db
def test_a_mention_of_someone_who_cannot_see_the_administration_notifies_nobody(
    client, document, owner, colleague_without_access, outsider
):
    client.force_login(owner)

    response = client.post(urls(document)["create"], {"body": "@Tom Claes and @Marc Lambert, see this"}, headers=HTMX)

    assert response.status_code == 200
    assert Notification.objects.count() == 0
    comment = DocumentComment.objects.get()
    assert list(comment.mentioned.all()) == []
    # The colleague of the office is named as not notified; the other office's person is not revealed.
    assert "Tom Claes cannot see this administration, so was not notified." in response.text
    assert "Marc Lambert cannot see" not in response.text
    assert 'text-primary-emphasis">@Marc' not in response.text


@pytest.mark.django_db
def test_without_htmx_the_author_is_told_who_was_not_notified_on_the_page(
    client, document, owner, colleague_without_access
):
    client.force_login(owner)

    response = client.post(urls(document)["create"], {"body": "@Tom Claes look"}, follow=True)

    assert "Tom Claes cannot see this administration, so was not notified." in response.text


@pytest.mark.django_db
def test_a_client_user_is_not_told_about_the_office_s_people(
    office, administration, document, colleague_without_access
):
    client_user = make_user(office, administrations=[administration], name="Karel Klant", kind="client")

    assert comments.not_notified(body="@Tom Claes", administration=administration, author=client_user) == []


@pytest.mark.django_db
def test_mentioning_yourself_notifies_nobody(document, member):
    comments.comment_create(target=document, author=member, body="Note to @Jan Peeters: call them")

    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_editing_to_add_a_mention_notifies_only_the_new_person(document, owner, member, viewer):
    comment = comments.comment_create(target=document, author=owner, body="@Jan Peeters look")

    comments.comment_edit(comment=comment, actor=owner, body="@Jan Peeters and @Lies Maes look")

    assert mentions_of(member).count() == 1
    assert mentions_of(viewer).count() == 1
    assert comment.edited_at is not None
    assert set(comment.mentioned.all()) == {member, viewer}


@pytest.mark.django_db
def test_each_change_writes_an_activity_row(document, owner):
    comment = comments.comment_create(target=document, author=owner, body="first")
    comments.comment_edit(comment=comment, actor=owner, body="second")
    comments.comment_delete(comment=comment, actor=owner)

    rows = Activity.objects.filter(action__startswith="comment.").order_by("pk")
    assert [row.action for row in rows] == ["comment.added", "comment.edited", "comment.deleted"]
    assert rows[0].data == {
        "target": "document",
        "id": document.pk,
        "filename": "factuur-17.pdf",
        "comment": comment.pk,
    }
    assert rows[1].changes == {"body": ["first", "second"]}


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["", "   ", "x" * 4001])
def test_an_empty_or_too_long_body_is_refused_and_nothing_saved(client, document, owner, body):
    with pytest.raises(ValidationError):
        comments.comment_create(target=document, author=owner, body=body)
    client.force_login(owner)

    partial = client.post(urls(document)["create"], {"body": body}, headers=HTMX)
    page = client.post(urls(document)["create"], {"body": body})

    assert partial.status_code == 200 and 'data-testid="comment-error"' in partial.text
    assert page.status_code == 400 and 'data-testid="comment-error"' in page.text
    assert DocumentComment.objects.count() == 0 and Activity.objects.count() == 0


# --- only the author edits or deletes ----------------------------------------------------------


@pytest.mark.django_db
def test_only_the_author_edits_or_deletes(client, document, owner, member, outsider):
    comment = comments.comment_create(target=document, author=owner, body="mine")
    with pytest.raises(PermissionDenied):
        comments.comment_edit(comment=comment, actor=member, body="theirs")
    client.force_login(member)

    assert client.get(urls(document, comment)["edit"]).status_code == 403
    refused = client.post(urls(document, comment)["edit"], {"body": "theirs"})
    assert refused.status_code == 403 and "Only the author of a comment can edit it." in refused.text
    assert client.post(urls(document, comment)["delete"]).status_code == 403
    client.force_login(outsider)
    for name in ("edit", "delete", "comment"):
        assert client.post(urls(document, comment)[name], {"body": "x"}).status_code in (404, 405)
        assert client.get(urls(document, comment)[name]).status_code in (404, 405)
    comment.refresh_from_db()
    assert comment.body == "mine" and comment.deleted_at is None


@pytest.mark.django_db
def test_an_author_who_lost_the_comment_role_can_no_longer_edit(client, document, administration, member):
    comment = comments.comment_create(target=document, author=member, body="mine")
    member.administration_accesses.update(role=Role.VIEWER)
    client.force_login(member)

    assert client.post(urls(document, comment)["edit"], {"body": "changed"}).status_code == 403
    assert client.post(urls(document, comment)["delete"]).status_code == 403


@pytest.mark.django_db
def test_a_comment_of_another_document_is_not_found_through_this_one(client, document, administration, owner, member):
    other = make_document(administration, member, filename="other.pdf")
    comment = comments.comment_create(target=other, author=owner, body="elsewhere")
    client.force_login(owner)

    assert client.get(urls(document, comment)["edit"]).status_code == 404
    assert client.post(urls(document, comment)["delete"]).status_code == 404


@pytest.mark.django_db
def test_an_edited_comment_says_so_and_a_deleted_one_leaves_a_placeholder(client, document, owner, member):
    edited = comments.comment_create(target=document, author=owner, body="first version")
    gone = comments.comment_create(target=document, author=owner, body="secret remark")
    client.force_login(owner)

    response = client.post(urls(document, edited)["edit"], {"body": "second version"}, headers=HTMX)
    assert response.status_code == 200 and 'data-testid="comment-edited"' in response.text
    assert client.post(urls(document, gone)["delete"], headers=HTMX).status_code == 200

    client.force_login(member)
    page = client.get(urls(document)["page"]).text
    assert "second version" in page and 'data-testid="comment-edited"' in page
    assert "Comment deleted" in page and "secret remark" not in page


@pytest.mark.django_db
def test_edit_and_delete_without_javascript_return_to_the_page(client, document, owner):
    comment = comments.comment_create(target=document, author=owner, body="first")
    client.force_login(owner)

    form = client.get(urls(document, comment)["edit"])
    assert form.status_code == 200 and 'data-testid="comment-edit-form"' in form.text and "<html" in form.text
    edited = client.post(urls(document, comment)["edit"], {"body": "second"})
    assert edited.status_code == 302 and edited["Location"] == f"{urls(document)['page']}#comment-{comment.pk}"
    deleted = client.post(urls(document, comment)["delete"])
    assert deleted.status_code == 302
    comment.refresh_from_db()
    assert comment.body == "second" and comment.is_deleted


@pytest.mark.django_db
def test_a_deleted_comment_cannot_be_edited(client, document, owner):
    comment = comments.comment_create(target=document, author=owner, body="first")
    comments.comment_delete(comment=comment, actor=owner)
    client.force_login(owner)

    assert client.post(urls(document, comment)["edit"], {"body": "again"}).status_code == 404


# --- the page and its parts ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_body_is_shown_escaped_and_mentions_highlighted(client, document, owner, member):
    comments.comment_create(target=document, author=owner, body='<script>alert("x")</script> @Jan Peeters <b>hi</b>')
    client.force_login(member)

    page = client.get(urls(document)["page"]).text

    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<b>hi</b>" not in page
    assert '<strong class="text-primary-emphasis">@Jan Peeters</strong>' in page


@pytest.mark.django_db
def test_htmx_gets_the_thread_alone_and_a_browser_without_javascript_a_redirect_or_the_page(client, document, member):
    client.force_login(member)

    partial = client.post(urls(document)["create"], {"body": "with htmx"}, headers=HTMX)
    assert partial.status_code == 200 and "<html" not in partial.text and "with htmx" in partial.text
    plain = client.post(urls(document)["create"], {"body": "without"})
    comment = DocumentComment.objects.get(body="without")
    assert plain.status_code == 302 and plain["Location"] == f"{urls(document)['page']}#comment-{comment.pk}"

    thread = client.get(urls(document)["list"], headers=HTMX)
    assert "<html" not in thread.text and "with htmx" in thread.text
    page = client.get(urls(document)["list"])
    assert "<html" in page.text and "without" in page.text
    one = client.get(urls(document, comment)["comment"], headers=HTMX)
    assert one.status_code == 200 and f'id="comment-{comment.pk}"' in one.text
    assert client.get(urls(document, comment)["comment"]).status_code == 302


@pytest.mark.django_db
def test_wrong_methods_are_405(client, document, owner):
    comment = comments.comment_create(target=document, author=owner, body="x")
    client.force_login(owner)
    found = urls(document, comment)

    assert client.get(found["create"]).status_code == 405
    assert client.get(found["delete"]).status_code == 405
    assert client.post(found["list"]).status_code == 405
    assert client.post(found["people"]).status_code == 405
    assert client.post(found["comment"]).status_code == 405
    assert client.generic("PATCH", found["edit"]).status_code == 405


@pytest.mark.django_db
def test_a_viewer_reads_comments_but_cannot_write_them(client, document, owner, viewer):
    comments.comment_create(target=document, author=owner, body="visible to all")
    client.force_login(viewer)

    page = client.get(urls(document)["page"]).text
    assert "visible to all" in page and 'data-testid="comment-form"' not in page
    assert 'data-testid="read-only-comments"' in page
    assert client.get(urls(document)["list"]).status_code == 200
    assert client.get(urls(document)["people"], {"body": "@J"}).status_code == 200
    assert client.post(urls(document)["create"], {"body": "me too"}).status_code == 403
    with pytest.raises(PermissionDenied):
        comments.comment_create(target=document, author=viewer, body="me too")
    assert DocumentComment.objects.count() == 1


@pytest.mark.django_db
def test_outsiders_and_colleagues_without_access_get_404(client, document, owner, outsider, colleague_without_access):
    comment = comments.comment_create(target=document, author=owner, body="x")
    for person in (outsider, colleague_without_access):
        client.force_login(person)
        found = urls(document, comment)
        assert client.get(found["list"]).status_code == 404
        assert client.get(found["people"]).status_code == 404
        assert client.post(found["create"], {"body": "x"}).status_code == 404
        assert client.post(found["edit"], {"body": "y"}).status_code == 404


@pytest.mark.django_db
def test_the_suggestions_offer_only_people_who_see_the_administration(
    client, document, owner, member, viewer, colleague_without_access, outsider
):
    client.force_login(owner)

    response = client.get(urls(document)["people"], {"body": "Hello @", "for": "comment-body-x"}, headers=HTMX)

    assert response.status_code == 200
    offered = response.text
    for name in ("Jan Peeters", "Lies Maes"):
        assert f'data-mention="{name}"' in offered
    assert 'data-mention="Els Dupont"' not in offered  # the one typing: mentioning oneself tells nobody
    assert "Tom Claes" not in offered and "Marc Lambert" not in offered
    narrowed = client.get(urls(document)["people"], {"body": "@li", "for": "f"}, headers=HTMX).text
    assert 'data-mention="Lies Maes"' in narrowed and "Jan Peeters" not in narrowed
    assert "data-mention" not in client.get(urls(document)["people"], {"body": "no at sign"}).text


@pytest.mark.django_db
def test_the_form_lists_who_can_be_mentioned_for_use_without_javascript(
    client, document, member, colleague_without_access
):
    client.force_login(member)

    page = client.get(urls(document)["page"]).text

    assert 'data-testid="mentionable-people"' in page and "@Jan Peeters" in page
    assert "@Tom Claes" not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "language, deleted, not_notified",
    [
        ("nl", "Opmerking verwijderd", "Tom Claes ziet deze administratie niet en kreeg dus geen melding."),
        ("fr", "Commentaire supprimé", "Tom Claes ne voit pas cette administration et n'a donc pas été prévenu."),
    ],
)
def test_the_thread_speaks_the_reader_s_language(
    client, document, owner, colleague_without_access, language, deleted, not_notified
):
    comment = comments.comment_create(target=document, author=owner, body="x")
    comments.comment_delete(comment=comment, actor=owner)
    client.force_login(owner)

    with translation.override(language):
        response = client.post(
            urls(document)["create"], {"body": "@Tom Claes"}, headers=HTMX | {"Accept-Language": language}
        )

    assert deleted in response.text
    assert not_notified in response.text


# --- a deleted comment leaves no words behind --------------------------------------------------


@pytest.mark.django_db
def test_deleting_a_comment_blanks_its_excerpt_on_the_page_and_its_email_is_not_sent(
    client, document, owner, member, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the e-mails wait for their task
        comment = comments.comment_create(
            target=document, author=owner, body="@Jan Peeters @Lies Maes the secret-text of the deal"
        )
    other = comments.comment_create(target=document, author=owner, body="@Jan Peeters kept-text")
    waiting = list(mentions_of(member).filter(key=f"document-comment:{comment.pk}")) + list(mentions_of(viewer))
    assert all(row.emailed == Notification.Emailed.WAITING for row in waiting)

    comments.comment_delete(comment=comment, actor=owner)

    for row in waiting:
        row.refresh_from_db()
        assert row.data["excerpt"] == "" and row.emailed == Notification.Emailed.NO
        assert row.data["comment"] == comment.pk  # the rest of the notification stays
    assert mentions_of(member).get(key=f"document-comment:{other.pk}").data["excerpt"] == "@Jan Peeters kept-text"
    mail.outbox.clear()
    send_notification_emails.apply(args=[[row.pk for row in waiting]])
    assert not any("secret-text" in message.body for message in mail.outbox)
    client.force_login(member)
    page = client.get("/notifications/").text
    assert "secret-text" not in page and "kept-text" in page
    assert page.count('data-testid="notification"') == 2  # the mention itself stays in the bell


# --- a client user is not handed the office's associates' e-mail addresses ---------------------


@pytest.fixture
def client_user(office, administration):
    return make_user(
        office, administrations=[administration], administration_role=Role.DRAFTER, name="Karel Klant", kind="client"
    )


@pytest.fixture
def nameless(office, administration):
    """An associate Clearfacts knows by no name (the portal would otherwise show their address)."""
    return make_user(office, administrations=[administration], name="", email="wim.nameless@fiduciaire.be")


@pytest.mark.django_db
def test_a_client_is_offered_associates_by_name_only_never_by_their_address(
    client, document, owner, member, client_user, nameless
):
    client.force_login(client_user)

    def offered(body):
        return client.get(urls(document)["people"], {"body": body, "for": "f"}, headers=HTMX).text

    everyone = offered("@")
    assert 'data-mention="Els Dupont"' in everyone and 'data-mention="Jan Peeters"' in everyone
    assert "wim.nameless" not in everyone and "fiduciaire.be" not in everyone
    assert "@example.be" not in everyone
    local_part = member.email.partition("@")[0]
    assert "data-mention" not in offered(f"@{local_part}")
    assert "data-mention" not in offered("@wim")
    assert 'data-mention="Jan Peeters"' in offered("@jan")

    page = client.get(urls(document)["page"]).text
    assert "@Jan Peeters" in page and "wim.nameless" not in page and member.email not in page
    assert "4 people can see this administration" in page and "An associate of the office" in page

    # By name a client still mentions an associate; by an associate's address they mention nobody.
    comment = comments.comment_create(
        target=document, author=client_user, body=f"@Jan Peeters and @{local_part} and @wim.nameless"
    )
    assert list(comment.mentioned.all()) == [member]


@pytest.mark.django_db
def test_an_associate_is_still_offered_everyone_by_name_or_address(client, document, member, client_user, nameless):
    client.force_login(member)

    offered = client.get(urls(document)["people"], {"body": "@wim", "for": "f"}, headers=HTMX).text

    assert 'data-mention="wim.nameless"' in offered
    assert "@wim.nameless" in client.get(urls(document)["page"]).text
    assert comments.mentions_in("@wim.nameless", document.administration, member) == [nameless]


@pytest.mark.django_db
def test_a_client_reads_a_nameless_associate_s_comment_without_their_address(client, document, client_user, nameless):
    comments.comment_create(target=document, author=nameless, body="Checked.")

    client.force_login(client_user)
    shown = client.get(urls(document)["list"], headers=HTMX).text

    assert "Checked." in shown and "wim.nameless" not in shown and "An associate of the office" in shown
    assert nameless.email in _as(client, nameless).get(urls(document)["list"], headers=HTMX).text


def _as(client, person):
    client.force_login(person)
    return client
