"""Every route, walked as the people of an office: which methods it answers, and who may POST to it.

Like the tenancy walk (test_tenancy.py, whose URL-argument convention it follows), it discovers the
routes by itself, so a route added later is covered without editing this file. Each view declares
the role it needs with accounts.roles.requires_role (or role_not_required); a view that accepts
POST and declares nothing fails the walk.
"""

import re
from pathlib import Path

import pytest
from django.urls import resolve

from accounts.models import Membership
from tests.portal.test_tenancy import Objects, build, site_routes

RANKS = [Membership.Role.VIEWER, Membership.Role.MEMBER, Membership.Role.ADMIN]

# A method no view of the site accepts: every view must answer it 405 with the methods it takes.
UNUSED_METHOD = "PATCH"


def allowed_methods(client, url) -> set[str]:
    response = client.generic(UNUSED_METHOD, url)
    assert response.status_code == 405, f"{url} does not declare its methods (it answered {UNUSED_METHOD})"
    return {method.strip() for method in response["Allow"].split(",")}


def routes_with_methods(client, administration):
    """(route, url, view, the methods it accepts) of every route, asked as the signed-in user of `client`."""
    objects = Objects(administration)
    for route in site_routes():
        url = build(route, objects.value)
        yield route, url, resolve(url).func, allowed_methods(client, url)


def post_routes(client, administration):
    for route, url, view, methods in routes_with_methods(client, administration):
        if "POST" in methods and getattr(view, "login_required", True):  # sign-out, language: anyone's
            yield route, url, view


def required_role(route, view):
    if not hasattr(view, "required_role"):
        pytest.fail(f"/{route} accepts POST but declares no role (accounts.roles.requires_role or role_not_required)")
    return view.required_role


@pytest.mark.django_db
def test_every_route_declares_its_methods_and_a_get_on_a_post_only_route_is_405(client, member, administration):
    client.force_login(member)
    post_only = 0
    for _route, url, _view, methods in routes_with_methods(client, administration):
        if methods == {"POST"}:
            post_only += 1
            assert client.get(url).status_code == 405, f"GET {url} is not 405"
    assert post_only >= 4  # sign-out, refresh, the document actions, the language


@pytest.mark.django_db
def test_every_post_route_is_403_to_a_role_below_the_one_it_declares_and_open_to_that_role(
    client, owner, member, viewer, administration
):
    client.force_login(member)
    routes = list(post_routes(client, administration))
    assert len(routes) >= 6
    for route, url, view in routes:
        role = required_role(route, view)
        for person in (viewer, member, owner):
            client.force_login(person)
            status = client.post(url).status_code
            if role is None or RANKS.index(person.membership.role) >= RANKS.index(role):
                assert status not in (403, 404, 405) and status < 500, f"POST {url} answered {status} to a {person}"
            else:
                assert status == 403, f"POST {url} answered {status}, not 403, to a {person.membership.role}"


@pytest.mark.django_db
def test_viewers_may_post_to_no_tenant_route(client, member, viewer, administration):
    """What a viewer may do in an administration they see is look: every POST there needs a member."""
    client.force_login(member)
    for route, _url, view in post_routes(client, administration):
        if "company_number" in route:
            assert required_role(route, view) in (Membership.Role.MEMBER, Membership.Role.ADMIN), route


@pytest.mark.django_db
def test_every_tenant_post_route_is_404_to_an_outsider_even_an_administrator_of_their_own_office(
    client, member, administration, outsider
):
    outsider.membership.role = Membership.Role.ADMIN
    outsider.membership.save()
    client.force_login(member)
    tenant_urls = [url for route, url, _view in post_routes(client, administration) if "company_number" in route]
    assert len(tenant_urls) >= 4
    client.force_login(outsider)
    for url in tenant_urls:
        assert client.post(url).status_code == 404, f"POST {url} is not 404 to an outsider"


@pytest.mark.django_db
def test_the_roles_rank_viewer_member_office_administrator(owner, member, viewer):
    assert [person.membership.can_write for person in (owner, member, viewer)] == [True, True, False]
    assert [person.membership.is_office_admin for person in (owner, member, viewer)] == [True, False, False]


@pytest.mark.django_db
def test_the_app_info_button_is_shown_to_office_administrators_only(client, owner, member, administration):
    url = f"/administrations/{administration.company_number}/"
    app_info = f"/administrations/{administration.company_number}/app-info/"
    client.force_login(owner)
    assert app_info in client.get(url).text
    client.force_login(member)
    assert app_info not in client.get(url).text


def test_no_template_compares_role_strings():
    """Templates ask the membership (`can_write`, `is_office_admin`), never compare its role."""
    templates = Path(__file__).resolve().parents[2] / "templates"
    comparison = re.compile(r"""role\s*(==|!=|\bin\b|\bnot in\b)\s*["']|["']\s*(==|!=)\s*[\w.]*\.role\b""")
    found = [
        f"{path.relative_to(templates)}:{number}"
        for path in templates.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if comparison.search(line)
    ]
    assert found == []
