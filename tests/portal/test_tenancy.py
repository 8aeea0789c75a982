"""Every URL of the site, walked as people who must not see another tenant's objects.

The walk discovers URL patterns and tenant-owned models by itself, so a URL added later is
covered without editing this file. URL arguments follow one convention: `company_number`
names an administration, `<model>_pk` (or `_id`) a tenant-owned object, `<model>_uuid` its
`uuid` field, and `<thing>_ref` an object that lives only in Clearfacts (an associate, say), whose
owner only Clearfacts knows: for those the walk checks that nothing leaks or crashes with an
unknown id, and the pages' own tests check the 404 for another office's object against the
sandbox. An argument outside the convention fails the test, saying which.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from model_bakery import baker

from clearfacts_app.models import Administration
from portal.tenancy import tenant_models

# Mounted apps that are not tenant pages: the admin and allauth's staff account pages (staff
# only, checked below) and the sandbox (a stand-in for Clearfacts and Clearvo with its own
# authentication).
SKIPPED_PREFIXES = ("admin/", "staff/", "sandbox/")
ARGUMENT = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
REMOTE_REF = "00000000-0000-4000-8000-000000000000"  # no such object anywhere


def walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def site_routes():
    return [route for route in walk(get_resolver().url_patterns) if not route.startswith(SKIPPED_PREFIXES)]


def object_routes():
    return [route for route in site_routes() if ARGUMENT.search(route)]


def model_named(name):
    for model in tenant_models():
        if model._meta.model_name == name:
            return model
    return None


class Objects:
    """Creates, on demand, one object per tenant-owned model for a given administration."""

    def __init__(self, administration, owner=None):
        self.administration = administration
        self.owner = owner  # the recipient of a personal object (a notification), when given
        self.created = {}

    def value(self, argument):
        if argument == "company_number":
            return self.administration.company_number
        if argument.endswith("_ref"):
            return REMOTE_REF
        match = re.fullmatch(r"(?P<model>\w+?)_(?P<field>pk|id|uuid)", argument)
        model = match and model_named(match["model"])
        if model is None:
            pytest.fail(
                f"URL argument {argument!r} does not follow the convention (company_number, "
                "<model>_pk, <model>_id or <model>_uuid of a tenant-owned model)"
            )
        if model not in self.created:
            path = getattr(model, "administration_path", "administration")
            if model is Administration:
                self.created[model] = self.administration
            else:
                # An object nested under another in the URL (a document's comment) belongs to it.
                parents = {
                    field.name: self.created[field.related_model]
                    for field in model._meta.concrete_fields
                    if field.is_relation
                    and field.related_model in self.created
                    and field.related_model is not Administration
                }
                through = {} if path.split("__")[0] in parents else {path: self.administration}
                personal = {"recipient": self.owner} if self.owner and hasattr(model, "recipient") else {}
                self.created[model] = baker.make(model, **through, **parents, **personal)
        obj = self.created[model]
        return obj.uuid if match["field"] == "uuid" else obj.pk


def build(route, values):
    return "/" + ARGUMENT.sub(lambda m: str(values(m["name"])), route)


def assert_not_found(client, url):
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url)
    if REMOTE_REF in url:
        # Only Clearfacts can say whose it is (no sandbox answers here): no crash, nothing shown.
        assert response.status_code != 500 and "<form" not in response.text.split("</nav>", 1)[-1], url
        return
    assert response.status_code == 404, f"{url} answered {response.status_code}, not 404"


def test_the_walk_finds_the_tenant_pages():
    routes = object_routes()
    assert "administrations/<company:company_number>/" in routes


@pytest.mark.django_db
def test_every_tenant_url_is_404_for_a_user_of_another_office(client, member, administration, outsider):
    client.force_login(outsider)
    for route in object_routes():
        assert_not_found(client, build(route, Objects(administration).value))


@pytest.mark.django_db
def test_own_administration_with_another_tenants_object_is_404(client, member, administration, other_administration):
    """The object must be found through the administration in the URL, not by key alone."""
    client.force_login(member)
    mine, theirs = Objects(administration), Objects(other_administration)
    for route in object_routes():
        if "company_number" in route and len(ARGUMENT.findall(route)) > 1:
            url = build(route, lambda name: mine.value(name) if name == "company_number" else theirs.value(name))
            assert_not_found(client, url)


@pytest.mark.django_db
def test_every_tenant_url_is_404_for_a_colleague_without_a_grant(
    client, member, administration, colleague_without_access
):
    client.force_login(colleague_without_access)
    for route in object_routes():
        assert_not_found(client, build(route, Objects(administration).value))


@pytest.mark.django_db
def test_the_owner_reaches_every_tenant_url(client, member, administration):
    """Proves the URLs the walk builds are real: the same URLs do answer their owner."""
    client.force_login(member)
    for route in object_routes():
        url = build(route, Objects(administration, owner=member).value)
        status = client.get(url).status_code
        assert status not in (404, 500), f"{url} answered {status} to its owner"


@pytest.mark.django_db
def test_no_page_answers_500_or_leaks_to_a_user_of_another_office(client, member, outsider):
    client.force_login(outsider)
    for route in site_routes():
        if ARGUMENT.search(route):
            continue
        status = client.get("/" + route).status_code
        # 502/503 are friendly pages for an unreachable Clearfacts (no sandbox is serving here).
        assert status != 500, f"/{route} answered {status}"


@pytest.mark.django_db
def test_the_admin_is_closed_to_clearfacts_users(client, outsider):
    client.force_login(outsider)

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0] == "/"
    assert "for platform staff only" in response.text
    assert client.get("/admin/clearfacts_app/administration/").status_code == 302


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client, administration):
    """Every page but the ones marked @login_not_required (sign-in, health check, ...)."""
    checked = 0
    for route in site_routes():
        url = build(route, Objects(administration).value)
        if not getattr(resolve(url).func, "login_required", True):
            continue
        checked += 1
        response = client.get(url)
        assert response.status_code == 302, f"{url} answered {response.status_code} to an anonymous visitor"
        assert response["Location"].startswith("/accounts/sign-in/")
    assert checked >= 4


@pytest.mark.django_db
def test_an_htmx_request_without_session_gets_a_client_redirect(client, administration):
    url = f"/administrations/{administration.company_number}/"
    response = client.get(url, headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{url}"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/accounts/sign-in/?next=%2Fadministrations%2F{administration.company_number}%2F"
