"""The People tab: who has access to an administration, and who may change whose role."""

import pytest

from accounts.models import Membership
from clearfacts_app import people
from clearfacts_app.models import Activity, AdministrationAccess
from clearfacts_app.roles import Action, Role, can
from tests.factories import make_user


@pytest.fixture
def company(office, administration, owner, member, viewer):
    """The administration's people: the office's (owner: office administrator, member, viewer) and the
    company's own (its owner, a client-user manager, and a colleague of theirs)."""
    client_owner = make_user(
        office,
        administrations=[administration],
        administration_role=Role.MANAGER,
        kind=Membership.Kind.CLIENT,
        name="Karel Maes",
    )
    colleague = make_user(office, administrations=[administration], kind=Membership.Kind.CLIENT, name="Koen Maes")
    return client_owner, colleague


def access(user, administration) -> AdministrationAccess:
    return AdministrationAccess.objects.get(user=user, administration=administration)


def people_url(administration) -> str:
    return f"/administrations/{administration.company_number}/people/"


def role_url(administration, row: AdministrationAccess) -> str:
    return f"/administrations/{administration.company_number}/people/{row.pk}/role/"


@pytest.mark.django_db
def test_the_tab_lists_everyone_with_access_with_their_kind_and_role(
    client, administration, owner, member, viewer, company
):
    client_owner, colleague = company
    client.force_login(viewer)

    response = client.get(people_url(administration))

    assert response.status_code == 200
    text = response.text
    for person in (owner, member, viewer, client_owner, colleague):
        assert person.email in text
    assert text.count('data-testid="person-row"') == 5
    assert "Client user of a company" in text and "Associate of the office" in text
    assert 'data-testid="role-form"' not in text, "a viewer changes nobody's role"
    assert 'data-testid="tab-people"' in text


@pytest.mark.django_db
def test_an_office_administrator_changes_anyone_but_another_office_administrator(
    client, office, administration, owner, member, company
):
    other_admin = make_user(office, role=Membership.Role.ADMIN, administrations=[administration], name="Eva Admin")
    client_owner, colleague = company
    client.force_login(owner)

    text = client.get(people_url(administration)).text

    assert text.count('data-testid="role-form"') == 4  # member, viewer and the two client users; not the admins
    assert f'id="person-{access(other_admin, administration).pk}"' in text
    response = client.post(role_url(administration, access(member, administration)), {"role": Role.DRAFTER})
    assert response.status_code == 302
    assert access(member, administration).role == Role.DRAFTER
    response = client.post(role_url(administration, access(client_owner, administration)), {"role": Role.APPROVER})
    assert response.status_code == 302 and access(client_owner, administration).role == Role.APPROVER
    response = client.post(role_url(administration, access(other_admin, administration)), {"role": Role.VIEWER})
    assert response.status_code == 403
    assert "Office administrators manage every administration" in response.text


@pytest.mark.django_db
def test_the_company_owner_changes_the_companys_users_only(client, administration, owner, member, company):
    client_owner, colleague = company
    client.force_login(client_owner)

    text = client.get(people_url(administration)).text
    assert text.count('data-testid="role-form"') == 1  # their colleague only

    ok = client.post(role_url(administration, access(colleague, administration)), {"role": Role.VIEWER})
    associate = client.post(role_url(administration, access(member, administration)), {"role": Role.VIEWER})
    own = client.post(role_url(administration, access(client_owner, administration)), {"role": Role.VIEWER})

    assert ok.status_code == 302 and access(colleague, administration).role == Role.VIEWER
    assert associate.status_code == 403 and "Only office administrators change the roles" in associate.text
    assert own.status_code == 403 and "your own role" in own.text
    assert access(member, administration).role == Role.APPROVER
    assert access(client_owner, administration).role == Role.MANAGER


@pytest.mark.django_db
def test_a_change_writes_an_activity_row_and_takes_effect_at_once(administration, owner, member):
    row = access(member, administration)
    assert can(row.user, Action.SUBMIT, administration)  # cached on this user object

    people.access_role_set(access=row, actor=owner, role=Role.VIEWER)

    activity = Activity.objects.get(action="access.role_changed")
    assert activity.actor == owner and activity.administration == administration
    assert activity.office_id == administration.office_id
    assert activity.changes == {"role": [Role.APPROVER, Role.VIEWER]}
    assert activity.data == {"user": member.pk, "name": "Jan Peeters"}
    assert not can(row.user, Action.SUBMIT, administration), "the roles cached on the user are forgotten"


@pytest.mark.django_db
def test_setting_the_same_role_again_records_nothing(administration, owner, member):
    people.access_role_set(access=access(member, administration), actor=owner, role=Role.APPROVER)
    assert not Activity.objects.filter(action="access.role_changed").exists()


@pytest.mark.django_db
def test_an_htmx_change_answers_the_row(client, administration, owner, member):
    client.force_login(owner)
    row = access(member, administration)

    response = client.post(role_url(administration, row), {"role": Role.MANAGER}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.text.strip().startswith(f'<tr id="person-{row.pk}"')
    assert 'data-role="manager"' in response.text and 'data-testid="role-saved"' in response.text


@pytest.mark.django_db
def test_a_role_that_does_not_exist_is_400_and_changes_nothing(client, administration, owner, member):
    client.force_login(owner)
    row = access(member, administration)

    assert client.post(role_url(administration, row), {"role": "emperor"}).status_code == 400
    assert access(member, administration).role == Role.APPROVER


@pytest.mark.django_db
def test_below_manager_is_403_and_the_page_offers_no_change(client, administration, member, viewer):
    client.force_login(member)  # an approver
    assert 'data-testid="role-form"' not in client.get(people_url(administration)).text
    response = client.post(role_url(administration, access(viewer, administration)), {"role": Role.MANAGER})
    assert response.status_code == 403
    assert access(viewer, administration).role == Role.VIEWER


@pytest.mark.django_db
def test_an_associate_manager_who_is_no_office_administrator_changes_no_role(client, office, administration, viewer):
    manager = make_user(office, administrations=[administration], administration_role=Role.MANAGER, name="Mia Manager")
    client.force_login(manager)
    response = client.post(role_url(administration, access(viewer, administration)), {"role": Role.MANAGER})
    assert response.status_code == 403


@pytest.mark.django_db
def test_an_access_of_another_administration_is_404(
    client, office, administration, owner, other_administration, outsider
):
    client.force_login(owner)
    foreign = access(outsider, other_administration)
    assert client.post(role_url(administration, foreign), {"role": Role.VIEWER}).status_code == 404
    from tests.factories import make_administration

    sibling = make_administration(office, "Slagerij Peeters BV")
    colleague = make_user(office, administrations=[sibling], name="Tom Claes")
    assert client.post(role_url(administration, access(colleague, sibling)), {"role": Role.VIEWER}).status_code == 404
    assert access(colleague, sibling).role == Role.APPROVER


@pytest.mark.django_db
def test_an_outsider_gets_404_and_a_get_on_the_change_is_405(client, administration, member, outsider):
    row = access(member, administration)
    client.force_login(outsider)
    assert client.get(people_url(administration)).status_code == 404
    assert client.post(role_url(administration, row), {"role": Role.VIEWER}).status_code == 404
    client.force_login(member)
    assert client.get(role_url(administration, row)).status_code == 405
    assert client.put(people_url(administration)).status_code == 405


# --- a client user is not handed the office's associates' e-mail addresses ---------------------


@pytest.fixture
def nameless(office, administration):
    """An associate Clearfacts knows by no name (the portal would otherwise show their address)."""
    return make_user(office, administrations=[administration], name="", email="wim.nameless@fiduciaire.be")


@pytest.mark.django_db
def test_a_client_user_sees_associates_by_name_but_not_their_e_mail_addresses(
    client, administration, owner, member, company, nameless
):
    client_owner, colleague = company
    client.force_login(colleague)

    text = client.get(people_url(administration)).text

    assert text.count('data-testid="person-row"') == 6  # and the viewer
    for associate in (owner, member, nameless):
        assert associate.email not in text
    assert "Els Dupont" in text and "Jan Peeters" in text and "An associate of the office" in text
    assert "wim.nameless" not in text
    for company_user in (client_owner, colleague):  # the company's own people, as before
        assert company_user.email in text


@pytest.mark.django_db
def test_the_client_owner_s_role_change_answer_shows_no_associate_address(client, administration, company):
    client_owner, colleague = company
    client.force_login(client_owner)

    row = client.post(
        role_url(administration, access(colleague, administration)), {"role": "viewer"}, headers={"HX-Request": "true"}
    ).text

    assert colleague.email in row  # a client user's own company's people keep their address


@pytest.mark.django_db
def test_an_associate_still_sees_everyone_s_address(client, administration, owner, member, company, nameless):
    client.force_login(member)

    text = client.get(people_url(administration)).text

    for person in (owner, member, nameless, *company):
        assert person.email in text


@pytest.mark.django_db
def test_the_activity_feed_s_person_filter_names_associates_without_their_address_to_a_client(
    client, administration, owner, member, company, nameless
):
    client_owner, _colleague = company
    client.force_login(client_owner)

    for url in (f"/administrations/{administration.company_number}/activity/", "/activity/"):
        text = client.get(url).text
        assert "Jan Peeters" in text and "An associate of the office" in text, url
        assert nameless.email not in text, url

    client.force_login(member)
    assert nameless.email in client.get(f"/administrations/{administration.company_number}/activity/").text


@pytest.mark.django_db
def test_who_sees_whose_address(office, administration, owner, member, company):
    client_owner, colleague = company
    assert people.shows_email(member, client_owner) and people.shows_email(member, owner)
    assert people.shows_email(colleague, client_owner) and people.shows_email(colleague, colleague)
    assert not people.shows_email(colleague, owner) and not people.shows_email(colleague, member)


HTMX = {"HX-Request": "true"}


@pytest.mark.django_db
def test_two_htmx_changes_of_the_same_row_both_work_the_row_keeps_its_choices(client, administration, owner, member):
    client.force_login(owner)
    row = access(member, administration)

    first = client.post(role_url(administration, row), {"role": Role.MANAGER}, headers=HTMX)
    assert first.status_code == 200
    for role in Role:  # the row that comes back offers every role again, the new one selected
        assert f'<option value="{role.value}"' in first.text
    assert f'<option value="{Role.MANAGER.value}" selected>' in first.text

    second = client.post(role_url(administration, row), {"role": Role.VIEWER}, headers=HTMX)
    assert second.status_code == 200 and 'data-role="viewer"' in second.text
    assert access(member, administration).role == Role.VIEWER


@pytest.mark.django_db
def test_an_invalid_htmx_change_answers_the_row_with_its_message_and_200(client, administration, owner, member):
    client.force_login(owner)
    row = access(member, administration)

    response = client.post(role_url(administration, row), {"role": ""}, headers=HTMX)

    assert response.status_code == 200, "htmx swaps no 4xx answer"
    assert response.text.strip().startswith(f'<tr id="person-{row.pk}"')
    assert "Choose one of the roles." in response.text and 'data-testid="role-error"' in response.text
    assert f'<option value="{Role.APPROVER.value}" selected>' in response.text
    assert access(member, administration).role == Role.APPROVER
    assert client.post(role_url(administration, row), {"role": ""}).status_code == 400, "without htmx: still 400"


@pytest.mark.django_db
def test_a_refused_htmx_change_answers_the_row_with_the_reason(client, office, administration, owner):
    other_admin = make_user(office, role=Membership.Role.ADMIN, administrations=[administration], name="Eva Admin")
    client.force_login(owner)
    row = access(other_admin, administration)

    response = client.post(role_url(administration, row), {"role": Role.VIEWER}, headers=HTMX)

    assert response.status_code == 200
    assert "Office administrators manage every administration" in response.text
    assert client.post(role_url(administration, row), {"role": Role.VIEWER}).status_code == 403


@pytest.mark.django_db
def test_the_tab_says_it_lists_people_who_have_signed_in(client, administration, viewer):
    client.force_login(viewer)
    text = client.get(people_url(administration)).text
    assert "People who have signed in to the portal" in text
    assert "A colleague appears here after their first sign-in." in text
