"""The bell (an unread count refreshed by HTMX), the notifications page, opening one, and reading all.

Notifications are personal: each person sees only their own, and another's is 404.
"""

import pytest
from django.db import transaction

from accounts.models import User
from clearfacts_app.models import AdministrationAccess, Notification
from clearfacts_app.notifications import PAGE_SIZE, notify, unread_count
from tests.factories import make_administration

Kind = Notification.Kind
BELL, PAGE, READ_ALL = "/notifications/bell/", "/notifications/", "/notifications/read/"


def told(person, administration, *, actor=None, key="invoice:7:v1", kind=Kind.REVIEW_ASSIGNED, url=""):
    url = url or f"/administrations/{administration.company_number}/"
    with transaction.atomic():
        return notify(
            recipients=[person],
            administration=administration,
            kind=kind,
            key=key,
            actor=actor,
            data={"invoice": 7, "number": "2026-0042"},
            url=url,
        )[0]


def unread(client) -> str:
    response = client.get(BELL)
    assert response.status_code == 200
    return response.text


def test_the_bell_counts_unread_notifications_and_polls_every_ten_seconds(client, administration, member, owner):
    client.force_login(member)
    assert 'data-testid="notification-count"' not in unread(client)
    assert "Notifications: none unread" in unread(client)

    told(member, administration, actor=owner)
    bell = unread(client)
    assert 'data-testid="notification-count">1</span>' in bell
    assert "1 unread notification<" in bell
    assert 'hx-get="/notifications/bell/"' in bell and 'hx-trigger="every 10s"' in bell

    told(member, administration, actor=owner, key="invoice:8:v1")
    assert "2 unread notifications" in unread(client)

    client.get(PAGE)  # seen
    assert 'data-testid="notification-count"' not in unread(client)


def test_every_page_shows_the_bell_with_its_count(client, administration, member, owner):
    told(member, administration, actor=owner)
    client.force_login(member)

    page = client.get("/").text

    assert 'id="notification-bell"' in page and 'data-testid="notification-count">1</span>' in page


def test_no_bell_and_no_count_query_for_an_anonymous_visitor(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        page = client.get("/accounts/sign-in/").text
    assert "notification-bell" not in page


def test_the_bell_asks_a_constant_number_of_queries(
    client, administration, member, owner, django_assert_max_num_queries
):
    client.force_login(member)
    unread(client)
    with django_assert_max_num_queries(4) as few:
        unread(client)
    for number in range(30):
        told(member, administration, actor=owner, key=f"invoice:{number}:v1")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "30 unread notifications" in unread(client)


def test_more_than_99_unread_shows_99_plus(client, administration, member):
    Notification.objects.bulk_create(
        Notification(recipient=member, administration=administration, kind=Kind.MENTIONED, key=f"comment:{n}")
        for n in range(120)
    )
    client.force_login(member)

    bell = unread(client)

    assert ">99+</span>" in bell and "More than 99 unread notifications" in bell


def test_the_page_lists_ones_own_newest_first_highlights_unread_and_marks_them_read(
    client, administration, member, owner, viewer
):
    older = told(member, administration, actor=owner, key="invoice:1:v1")
    newer = told(member, administration, actor=owner, key="invoice:2:v1", kind=Kind.MENTIONED)
    told(viewer, administration, actor=owner, key="invoice:1:v1")
    client.force_login(member)

    page = client.get(PAGE).text

    assert page.count('data-testid="notification"') == 2
    assert page.index(f"/notifications/{newer.pk}/open/") < page.index(f"/notifications/{older.pk}/open/")
    assert page.count('data-unread="true"') == 2
    assert "Els Dupont asked you to review invoice 2026-0042 of Bakkerij Janssens BV." in page
    assert Notification.objects.filter(recipient=member, read_at__isnull=True).count() == 0
    assert Notification.objects.filter(recipient=viewer, read_at__isnull=True).count() == 1

    assert client.get(PAGE).text.count('data-unread="true"') == 0


def test_the_page_is_in_the_readers_language(client, administration, member, owner):
    told(member, administration, actor=owner)
    client.force_login(member)

    page = client.get(PAGE, headers={"accept-language": "nl"}).text

    assert "Els Dupont vraagt u factuur 2026-0042 van Bakkerij Janssens BV na te kijken." in page


def test_the_page_is_paged_and_marks_only_what_it_showed(client, administration, member):
    Notification.objects.bulk_create(
        Notification(recipient=member, administration=administration, kind=Kind.MENTIONED, key=f"comment:{n}")
        for n in range(PAGE_SIZE + 5)
    )
    client.force_login(member)

    first = client.get(PAGE)

    assert first.text.count('data-testid="notification"') == PAGE_SIZE
    assert Notification.objects.filter(recipient=member, read_at__isnull=True).count() == 5
    older = first.context["next_before"]
    second = client.get(PAGE, {"before": older})
    assert second.text.count('data-testid="notification"') == 5 and second.context["next_before"] is None
    assert Notification.objects.filter(recipient=member, read_at__isnull=True).count() == 0
    assert client.get(PAGE, {"before": "nonsense"}).status_code == 200


def test_opening_one_marks_it_read_and_goes_to_its_page(client, administration, member, owner):
    notification = told(member, administration, actor=owner, url="/invoices/")
    other = told(member, administration, actor=owner, key="invoice:9:v1")
    client.force_login(member)

    response = client.get(f"/notifications/{notification.pk}/open/")

    assert response.status_code == 302 and response["Location"] == "/invoices/"
    notification.refresh_from_db()
    other.refresh_from_db()
    assert notification.read_at is not None and other.read_at is None
    assert "1 unread notification<" in unread(client)


def test_a_link_to_another_site_is_not_followed(client, administration, member):
    notification = told(member, administration, url="https://evil.example/")
    Notification.objects.filter(pk=notification.pk).update(url="//evil.example/")
    client.force_login(member)

    response = client.get(f"/notifications/{notification.pk}/open/")

    assert response["Location"] == PAGE


@pytest.mark.parametrize("who", ["viewer", "owner", "outsider", "colleague_without_access"])
def test_someone_elses_notification_is_404(client, administration, member, who, request):
    notification = told(member, administration)
    client.force_login(request.getfixturevalue(who))

    assert client.get(f"/notifications/{notification.pk}/open/").status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_as_read(client, administration, member, owner, viewer):
    for number in range(3):
        told(member, administration, actor=owner, key=f"invoice:{number}:v1")
    theirs = told(viewer, administration, actor=owner)
    client.force_login(member)

    response = client.post(READ_ALL)

    assert response.status_code == 302 and response["Location"] == PAGE
    assert not Notification.objects.filter(recipient=member, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_viewer_may_read_and_mark_their_own(client, administration, viewer, owner):
    told(viewer, administration, actor=owner)
    client.force_login(viewer)

    assert client.get(PAGE).status_code == 200
    assert client.post(READ_ALL).status_code == 302


@pytest.mark.parametrize(
    ("method", "url"),
    [("post", PAGE), ("post", BELL), ("get", READ_ALL), ("delete", READ_ALL), ("post", "/notifications/1/open/")],
)
def test_wrong_methods_are_405(client, member, method, url):
    client.force_login(member)

    assert getattr(client, method)(url).status_code == 405


@pytest.mark.parametrize("url", [PAGE, BELL, READ_ALL])
def test_anonymous_visitors_are_sent_to_sign_in(client, db, url):
    response = client.get(url) if url != READ_ALL else client.post(url)

    assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/")


# --- a notification outlives no access --------------------------------------------------------


def test_after_access_is_withdrawn_the_page_the_bell_and_the_link_show_nothing_of_it(
    client, administration, other_administration, member, owner, django_assert_num_queries
):
    kept = told(member, administration, actor=owner, key="invoice:1:v1")
    withdrawn = make_administration(administration.office, "Slagerij Vermeulen BV")
    AdministrationAccess.objects.create(user=member, administration=withdrawn, role="approver")
    gone = told(member, withdrawn, actor=owner, key="invoice:2:v1")
    # A grant on another office's administration is no access either (Administration.visible_to).
    AdministrationAccess.objects.create(user=member, administration=other_administration, role="approver")
    elsewhere = Notification.objects.create(
        recipient=member, administration=other_administration, kind=Kind.REVIEW_ASSIGNED, key="invoice:3:v1"
    )
    AdministrationAccess.objects.filter(user=member, administration=withdrawn).delete()

    signed_in = User.objects.select_related("membership__office").get(pk=member.pk)  # as a request has them
    with django_assert_num_queries(1):  # the bell's count stays one query
        assert unread_count(signed_in) == 1
    client.force_login(member)
    assert "1 unread notification<" in unread(client)
    page = client.get(PAGE).text
    assert page.count('data-testid="notification"') == 1 and f"/notifications/{kept.pk}/open/" in page
    assert "Slagerij Vermeulen BV" not in page and other_administration.name not in page
    for hidden in (gone, elsewhere):
        assert client.get(f"/notifications/{hidden.pk}/open/").status_code == 404
    client.post(READ_ALL)
    assert set(Notification.objects.filter(read_at__isnull=True).values_list("pk", flat=True)) == {
        gone.pk,
        elsewhere.pk,
    }

    # Access given back: they are there again.
    AdministrationAccess.objects.create(user=member, administration=withdrawn, role="viewer")
    assert unread_count(member) == 1
    assert f"/notifications/{gone.pk}/open/" in client.get(PAGE).text
