"""Comments on invoices: the same thread as documents (clearfacts_app.comment_pages), on the invoice's
page and under its URL; mentions reach only people who can see the administration."""

import pytest

from clearfacts_app import comments
from clearfacts_app.models import Activity, Notification
from invoicing.models import InvoiceComment
from tests.factories import make_invoice

HTMX = {"HX-Request": "true"}


@pytest.fixture
def invoice(administration, member):
    return make_invoice(administration, member, invoice_number="F-2026-007")


def urls(invoice, comment=None):
    base = f"/administrations/{invoice.administration.company_number}/invoices/{invoice.pk}"
    found = {"page": f"{base}/", "list": f"{base}/comments/", "create": f"{base}/comments/new/"}
    found["people"] = f"{base}/comments/people/"
    if comment is not None:
        found |= {"edit": f"{base}/comments/{comment.pk}/edit/", "delete": f"{base}/comments/{comment.pk}/delete/"}
    return found


@pytest.mark.django_db
def test_a_mention_on_an_invoice_notifies_only_people_who_see_the_administration(
    client, invoice, owner, member, viewer, colleague_without_access, outsider
):
    client.force_login(owner)

    response = client.post(
        urls(invoice)["create"],
        {"body": "@Jan Peeters @Lies Maes @Tom Claes @Marc Lambert: is the VAT right?"},
        headers=HTMX,
    )

    assert response.status_code == 200
    comment = InvoiceComment.objects.get()
    assert comment.invoice == invoice and comment.administration == invoice.administration
    notified = Notification.objects.filter(kind=Notification.Kind.MENTIONED)
    assert {row.recipient for row in notified} == {member, viewer}
    row = notified.get(recipient=member)
    assert row.key == f"invoice-comment:{comment.pk}"
    assert row.url == f"{urls(invoice)['page']}#comment-{comment.pk}"
    assert row.data | {"excerpt": None} == {
        "target": "invoice",
        "id": invoice.pk,
        "number": "F-2026-007",
        "comment": comment.pk,
        "excerpt": None,
    }
    assert "Tom Claes cannot see this administration" in response.text
    assert "Marc Lambert cannot see" not in response.text


@pytest.mark.django_db
def test_editing_an_invoice_comment_notifies_only_the_newly_mentioned(invoice, owner, member, viewer):
    comment = comments.comment_create(target=invoice, author=owner, body="@Jan Peeters")
    comments.comment_edit(comment=comment, actor=owner, body="@Jan Peeters, @Lies Maes")
    comments.comment_edit(comment=comment, actor=owner, body="@Jan Peeters, @Lies Maes, please")

    assert Notification.objects.filter(recipient=member).count() == 1
    assert Notification.objects.filter(recipient=viewer).count() == 1
    actions = list(Activity.objects.filter(action__startswith="comment.").values_list("action", flat=True))
    assert sorted(actions) == ["comment.added", "comment.edited", "comment.edited"]


@pytest.mark.django_db
def test_the_invoice_page_shows_its_thread_escaped_and_edited(client, invoice, owner, member):
    comment = comments.comment_create(target=invoice, author=owner, body="<img src=x onerror=alert(1)> first")
    comments.comment_edit(comment=comment, actor=owner, body="<img src=x onerror=alert(1)> second")
    client.force_login(member)

    page = client.get(urls(invoice)["page"])

    assert page.status_code == 200
    assert 'data-testid="comments"' in page.text and 'data-testid="comment-form"' in page.text
    assert "&lt;img src=x onerror=alert(1)&gt; second" in page.text
    assert "<img src=x" not in page.text
    assert 'data-testid="comment-edited"' in page.text


@pytest.mark.django_db
def test_invoice_comments_without_javascript(client, invoice, member):
    client.force_login(member)

    created = client.post(urls(invoice)["create"], {"body": "plain post"})
    comment = InvoiceComment.objects.get()
    assert created.status_code == 302 and created["Location"] == f"{urls(invoice)['page']}#comment-{comment.pk}"
    assert "<html" in client.get(urls(invoice)["list"]).text
    deleted = client.post(urls(invoice, comment)["delete"])
    assert deleted.status_code == 302
    assert "Comment deleted" in client.get(urls(invoice)["page"]).text


@pytest.mark.django_db
def test_invoice_comment_permissions(client, invoice, owner, member, viewer, outsider):
    comment = comments.comment_create(target=invoice, author=owner, body="mine")
    found = urls(invoice, comment)

    client.force_login(viewer)
    assert client.get(found["list"]).status_code == 200
    assert client.post(found["create"], {"body": "x"}).status_code == 403
    client.force_login(member)
    assert client.post(found["edit"], {"body": "theirs"}).status_code == 403
    assert client.post(found["delete"]).status_code == 403
    client.force_login(outsider)
    for url in (found["list"], found["people"], found["edit"]):
        assert client.get(url).status_code == 404
    assert client.post(found["create"], {"body": "x"}).status_code == 404
    assert client.post(found["delete"]).status_code == 404
    comment.refresh_from_db()
    assert comment.body == "mine" and not comment.is_deleted


@pytest.mark.django_db
def test_invoice_comment_routes_answer_405_to_wrong_methods(client, invoice, owner):
    comment = comments.comment_create(target=invoice, author=owner, body="x")
    found = urls(invoice, comment)
    client.force_login(owner)

    assert client.get(found["create"]).status_code == 405
    assert client.get(found["delete"]).status_code == 405
    assert client.post(found["list"]).status_code == 405
    assert client.generic("PUT", found["edit"]).status_code == 405


@pytest.mark.django_db
def test_a_comment_of_another_invoice_is_not_found_through_this_one(client, administration, invoice, owner, member):
    other = make_invoice(administration, member)
    comment = comments.comment_create(target=other, author=owner, body="elsewhere")
    client.force_login(owner)

    assert client.post(urls(invoice, comment)["edit"], {"body": "x"}).status_code == 404
