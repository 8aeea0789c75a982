"""Lists that grow for years are paged without counting every row (portal.pagination)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from portal import pagination
from portal.pagination import BoundedPaginator
from tests.factories import make_document


@pytest.fixture
def users(db):
    User.objects.bulk_create(User(username=f"user-{n:02d}") for n in range(23))
    return User.objects.order_by("username")


def test_within_the_bound_it_pages_as_django_does(users):
    page = BoundedPaginator(users, 5, bound=30).get_page(5)

    assert page.paginator.known_pages == 5
    assert [user.username for user in page] == ["user-20", "user-21", "user-22"]
    assert not page.has_next() and page.has_previous()


def test_past_the_bound_the_total_is_unknown_and_each_page_knows_whether_one_follows(users):
    paginator = BoundedPaginator(users, 5, bound=10)

    with CaptureQueriesContext(connection) as queries:
        third = paginator.get_page(3)
    last = paginator.get_page(5)

    assert paginator.known_pages is None
    assert "LIMIT 11" in queries[0]["sql"], "the count stops one row past the bound"
    assert [user.username for user in third] == [f"user-{n}" for n in range(10, 15)]
    assert third.has_next() and third.has_previous()
    assert [user.username for user in last] == ["user-20", "user-21", "user-22"]
    assert not last.has_next()


@pytest.mark.parametrize("asked", ["0", "-1", "x", ""])
def test_past_the_bound_a_page_number_that_is_not_one_shows_a_page_with_rows(users, asked):
    page = BoundedPaginator(users, 5, bound=10).get_page(asked)

    assert len(page.object_list) == 5


@pytest.mark.parametrize("asked", ["99", "9" * 30])
def test_a_page_beyond_the_end_of_a_long_list_shows_rows_not_an_error(users, asked):
    page = BoundedPaginator(users, 5, bound=10).get_page(asked)

    assert page.object_list and page.number == 3


def test_the_documents_list_past_the_bound_says_page_n_and_offers_the_next(client, member, administration, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_BOUND", 30)
    for n in range(60):
        make_document(administration, member, f"factuur-{n:02d}.pdf")
    client.force_login(member)

    second = client.get("/documents/", {"page": 2}).text
    third = client.get("/documents/", {"page": 3}).text

    assert re.search(r'data-testid="documents-page">Page 2<', second)
    assert 'data-testid="documents-next"' in second and 'data-testid="documents-previous"' in second
    assert third.count('data-testid="document-row"') == 10 and 'data-testid="documents-next"' not in third
