"""Roles, table-driven: every role against every route and every action.

The people: a viewer, a drafter, an approver and a manager of the administration (associates), an
office administrator, a client user who manages it (the company's owner), and an outsider (an
office administrator of another office). The routes are discovered by the URL walk of
test_tenancy.py, so a route added later is covered without editing this file. Each view that
accepts POST declares what it needs: an action on the URL's administration
(`clearfacts_app.roles.requires`, `required_action`), an action checked on each row
(`checks_each_row`), or an office role (`accounts.roles.requires_role`, `required_role`, or
`role_not_required`). A view that accepts POST and declares nothing fails the walk.
"""

import re
from pathlib import Path

import pytest
from django.urls import resolve

from accounts.models import Membership
from clearfacts_app.models import AdministrationAccess
from clearfacts_app.roles import ACTIONS, RANKS, Action, Role, can, role_allows
from tests.factories import make_administration, make_user
from tests.invoicing.editor_helpers import complete_profile
from tests.portal.test_tenancy import Objects, build, site_routes

# A method no view of the site accepts: every view must answer it 405 with the methods it takes.
UNUSED_METHOD = "PATCH"
OFFICE_RANKS = [Membership.Role.VIEWER, Membership.Role.MEMBER, Membership.Role.ADMIN]

# The one table, pinned: the lowest role that may do each action. Changing clearfacts_app.roles.ACTIONS
# changes what every view, template, bulk action and task allows: this test makes that a decision.
PINNED = {
    Action.READ: Role.VIEWER,
    Action.COMMENT: Role.DRAFTER,
    Action.UPLOAD: Role.DRAFTER,
    Action.DRAFT: Role.DRAFTER,
    Action.REQUEST_REVIEW: Role.DRAFTER,
    Action.APPROVE: Role.APPROVER,
    Action.SUBMIT: Role.APPROVER,
    Action.MANAGE: Role.MANAGER,
}


class People:
    """Everyone of the table, with the role each has on `administration`."""

    def __init__(self, office, administration, owner, member, viewer, outsider):
        def on(role, **fields):
            return make_user(office, administrations=[administration], administration_role=role, **fields)

        outsider.membership.role = Membership.Role.ADMIN
        outsider.membership.save()
        self.viewer = viewer  # an office viewer: reads (default_role)
        self.drafter = on(Role.DRAFTER, name="Dirk Drafter")
        self.approver = member  # an office member: approves and submits (default_role)
        self.manager = on(Role.MANAGER, name="Mia Manager")
        self.office_admin = owner  # manager everywhere, whatever the row says
        self.client_manager = on(Role.MANAGER, name="Carla Client", kind=Membership.Kind.CLIENT)
        self.outsider = outsider
        self.on_administration = {
            "viewer": (self.viewer, Role.VIEWER),
            "drafter": (self.drafter, Role.DRAFTER),
            "approver": (self.approver, Role.APPROVER),
            "manager": (self.manager, Role.MANAGER),
            "office administrator": (self.office_admin, Role.MANAGER),
            "client-user manager": (self.client_manager, Role.MANAGER),
        }


@pytest.fixture
def people(office, administration, owner, member, viewer, outsider):
    return People(office, administration, owner, member, viewer, outsider)


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


def declaration(route, view) -> tuple[str, str | None]:
    """("action", action), ("each row", action) or ("office", office role or None) the view declares."""
    if hasattr(view, "required_action"):
        return ("each row" if getattr(view, "checks_each_row", False) else "action"), view.required_action
    if hasattr(view, "required_role"):
        return "office", view.required_role
    pytest.fail(
        f"/{route} accepts POST but declares nothing (clearfacts_app.roles.requires or checks_each_row, "
        "accounts.roles.requires_role or role_not_required)"
    )


def is_client(person) -> bool:
    return person.membership.kind == Membership.Kind.CLIENT


# --- the table of actions ---


def test_the_table_of_actions_is_pinned():
    assert dict(ACTIONS) == PINNED
    assert set(ACTIONS) == set(Action.values), "every action has its lowest role"


@pytest.mark.django_db
@pytest.mark.parametrize("action", Action.values)
def test_each_person_may_do_what_the_table_says_and_nothing_more(people, administration, action):
    for label, (person, role) in people.on_administration.items():
        expected = RANKS.index(role) >= RANKS.index(PINNED[action])
        assert can(person, action, administration) is expected, f"{label} ({role}) and {action}"
    assert can(people.outsider, action, administration) is False, "an outsider may do nothing"


@pytest.mark.django_db
def test_an_office_administrator_manages_even_with_a_lower_row(people, administration):
    AdministrationAccess.objects.filter(user=people.office_admin).update(role=Role.VIEWER)
    admin = type(people.office_admin).objects.get(pk=people.office_admin.pk)
    assert can(admin, Action.MANAGE, administration)


# --- every route, as every person ---


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
def test_every_post_route_is_403_below_its_action_and_open_at_or_above_it(client, people, administration):
    """The table over every route: a person below the declared action's role gets 403, one at or
    above gets an answer that is not 403/404/405/500 (an empty form may well be 400 or a redirect)."""
    client.force_login(people.approver)
    routes = list(post_routes(client, administration))
    assert len(routes) >= 10
    checked = set()
    for route, url, view in routes:
        kind, needed = declaration(route, view)
        for label, (person, role) in people.on_administration.items():
            client.force_login(person)
            status = client.post(url).status_code
            if kind == "office":
                may = needed is None or (
                    person.membership.has_role(needed) and (needed != Membership.Role.ADMIN or not is_client(person))
                )
                if getattr(view, "associates_only", False) and is_client(person):
                    assert status in (403, 404), f"POST {url} answered {status} to a client user"
                    continue
            elif kind == "each row":
                may = True  # it answers everyone who signed in, and refuses row by row
            elif getattr(view, "author_only", False):
                may = False  # the walk's comment was written by someone else: no role lets a colleague change it
            else:
                may = role_allows(role, needed)
            if may:
                assert status not in (403, 404, 405) and status < 500, f"POST {url} answered {status} to a {label}"
            else:
                assert status == 403, f"POST {url} answered {status}, not 403, to a {label} ({role})"
            checked.add((kind, needed, may))
    assert {("action", Action.UPLOAD, False), ("action", Action.SUBMIT, True), ("action", Action.MANAGE, False)} <= (
        checked
    )


@pytest.mark.django_db
def test_every_page_that_needs_an_action_is_403_to_get_below_it(client, people, administration):
    """GET too: a page of write controls (the upload page, the editor) is not shown to those who may not use them."""
    client.force_login(people.approver)
    for _route, url, view, methods in routes_with_methods(client, administration):
        needed = getattr(view, "required_action", None)
        if "GET" not in methods or needed is None or getattr(view, "checks_each_row", False):
            continue
        if getattr(view, "open_to_readers", False):  # the profile, a buyer: read by all, changed by some
            continue
        for label, (person, role) in people.on_administration.items():
            client.force_login(person)
            status = client.get(url).status_code
            if role_allows(role, needed) and not getattr(view, "author_only", False):
                assert status not in (403, 404, 405) and status < 500, f"GET {url} answered {status} to a {label}"
            else:
                assert status == 403, f"GET {url} answered {status}, not 403, to a {label}"


@pytest.mark.django_db
def test_every_tenant_post_route_is_404_to_an_outsider_even_an_administrator_of_their_own_office(
    client, people, administration
):
    client.force_login(people.approver)
    tenant_urls = [url for route, url, _view in post_routes(client, administration) if "company_number" in route]
    assert len(tenant_urls) >= 6
    client.force_login(people.outsider)
    for url in tenant_urls:
        assert client.post(url).status_code == 404, f"POST {url} is not 404 to an outsider"


@pytest.mark.django_db
def test_viewers_may_post_to_no_tenant_route(client, people, administration):
    """What a viewer may do on an administration is look: every POST there needs more than READ."""
    client.force_login(people.approver)
    for route, _url, view in post_routes(client, administration):
        if "company_number" in route:
            kind, needed = declaration(route, view)
            assert (
                kind == "office" and needed == Membership.Role.ADMIN or (kind == "action" and needed != Action.READ)
            ), route


OFFICE_PAGES = ["/office/", "/office/associates/", "/office/associates/add/", "/office/clearvo/"]


@pytest.mark.django_db
def test_office_pages_are_for_associates_and_their_changes_for_office_administrators(client, people, administration):
    app_info = f"/administrations/{administration.company_number}/app-info/"
    for label, (person, _role) in people.on_administration.items():
        client.force_login(person)
        for url in [*OFFICE_PAGES, app_info]:
            status = client.get(url).status_code
            if is_client(person):
                assert status == 404, f"{url} answered {status} to a client user"
            elif url in ("/office/", "/office/associates/") or person.membership.role == Membership.Role.ADMIN:
                assert status not in (403, 404) and status < 500, f"{url} answered {status} to a {label}"
            else:
                assert status == 403, f"{url} answered {status}, not 403, to a {label}"


@pytest.mark.django_db
def test_a_client_user_who_is_somehow_an_office_admin_still_sees_no_office_page(client, office, administration):
    person = make_user(
        office, role=Membership.Role.ADMIN, administrations=[administration], kind=Membership.Kind.CLIENT
    )
    client.force_login(person)
    assert client.post("/office/clearvo/").status_code == 404
    assert client.get("/office/").status_code == 404


# --- what the pages show ---


def page(client, person, url) -> str:
    client.force_login(person)
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response.text


@pytest.mark.django_db
def test_menus_and_buttons_show_only_what_the_person_may_do(client, people, administration):
    documents = f"/administrations/{administration.company_number}/"
    invoices = f"/administrations/{administration.company_number}/invoices/"
    shown = {}
    for label, (person, _role) in people.on_administration.items():
        documents_page, invoices_page = page(client, person, documents), page(client, person, invoices)
        shown[label] = (
            'data-testid="upload-link"' in documents_page,
            'data-testid="new-invoice"' in invoices_page,
            'data-testid="nav-office"' in documents_page,
            "/app-info/" in documents_page,
        )
    assert shown == {
        "viewer": (False, False, True, False),
        "drafter": (True, True, True, False),
        "approver": (True, True, True, False),
        "manager": (True, True, True, False),
        "office administrator": (True, True, True, True),
        "client-user manager": (True, True, False, False),
    }


@pytest.mark.django_db
def test_the_invoice_page_shows_submit_only_to_those_who_may_submit(client, people, administration):
    from tests.invoicing.submit_helpers import ready_draft

    complete_profile(administration)
    invoice = ready_draft(administration, people.drafter)
    url = f"/administrations/{administration.company_number}/invoices/{invoice.pk}/"
    assert 'data-testid="submit-invoice"' not in page(client, people.drafter, url)
    assert 'data-testid="edit-invoice"' in page(client, people.drafter, url)
    assert 'data-testid="submit-invoice"' in page(client, people.approver, url)
    viewer_page = page(client, people.viewer, url)
    assert 'data-testid="edit-invoice"' not in viewer_page and 'data-testid="submit-invoice"' not in viewer_page


@pytest.mark.django_db
def test_the_invoice_list_across_administrations_offers_actions_per_row(client, people, office, administration):
    """On /invoices/ each row offers what the person may do on its administration (one query for all)."""
    from tests.invoicing.submit_helpers import ready_draft

    complete_profile(administration)
    other = make_administration(office, "Slagerij Peeters BV")
    complete_profile(other)
    AdministrationAccess.objects.create(user=people.approver, administration=other, role=Role.VIEWER)
    mine, theirs = ready_draft(administration, people.approver), ready_draft(other, people.approver)

    text = page(client, people.approver, "/invoices/")

    assert f'value="{mine.pk}:{mine.version}"' in text, "a draft the approver may submit can be chosen"
    assert f'value="{theirs.pk}:{theirs.version}"' not in text, "a draft where they only read cannot"
    assert f"/invoices/{mine.pk}/duplicate/" in text and f"/invoices/{theirs.pk}/duplicate/" not in text


@pytest.mark.django_db
def test_the_dashboard_offers_upload_only_where_the_person_may(client, people, administration):
    from clearfacts_app.models import Document

    Document.objects.create(
        administration=administration,
        uploaded_by=people.drafter,
        destination="inbox",
        invoice_type="PURCHASE",
        filename="factuur.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        status=Document.Status.FAILED,
    )
    upload = f"/administrations/{administration.company_number}/documents/upload/"
    assert upload in page(client, people.drafter, "/")
    assert upload not in page(client, people.viewer, "/")


def test_no_template_compares_role_strings_or_asks_the_office_role():
    """Templates ask `may` (clearfacts_app.roles), never compare a role or read the membership's old flags."""
    templates = Path(__file__).resolve().parents[2] / "templates"
    comparison = re.compile(
        r"""role\s*(==|!=|\bin\b|\bnot in\b)\s*["']|["']\s*(==|!=)\s*[\w.]*\.role\b|membership\.(can_write|is_office_admin)"""
    )
    found = [
        f"{path.relative_to(templates)}:{number}"
        for path in templates.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if comparison.search(line)
    ]
    assert found == []


@pytest.mark.django_db
def test_the_office_roles_rank_viewer_member_office_administrator(people):
    assert [
        [person.membership.has_role(role) for role in OFFICE_RANKS]
        for person in (people.viewer, people.approver, people.office_admin)
    ] == [[True, False, False], [True, True, False], [True, True, True]]
