"""The notification setting page: any signed-in person, only their own setting, every kind on by default."""

import pytest

from invoicing.models import NotificationSetting
from tests.factories import make_user

URL = "/account/notifications/"


def checked(page: str, name: str) -> bool:
    tag = page.split(f'name="{name}"', 1)[1].split(">", 1)[0]
    return "checked" in tag


@pytest.mark.parametrize("person", ["owner", "member", "viewer", "colleague_without_access"])
def test_anyone_signed_in_sees_every_kind_turned_on_by_default(client, person, request):
    client.force_login(request.getfixturevalue(person))

    response = client.get(URL)

    assert response.status_code == 200
    page = response.text
    assert all(checked(page, name) for name in ("accepted", "rejected", "held"))
    assert f'action="{URL}"' in page and 'method="post"' in page
    assert not NotificationSetting.objects.exists()  # nothing stored until they change something


def test_someone_without_an_office_may_use_it_too(client, db):
    client.force_login(make_user(None, name="Nieuwe Gebruiker"))

    assert client.get(URL).status_code == 200


def test_a_viewer_turns_one_kind_off_and_only_their_own_setting_changes(client, viewer, member):
    client.force_login(viewer)

    response = client.post(URL, {"rejected": "on", "held": "on", "user": member.pk}, follow=True)

    assert response.redirect_chain == [(URL, 302)]
    assert "Your notification settings are saved." in response.text
    assert not checked(response.text, "accepted") and checked(response.text, "rejected")
    setting = NotificationSetting.objects.get()
    assert (setting.user, setting.accepted, setting.rejected, setting.held) == (viewer, False, True, True)
    client.force_login(member)
    assert checked(client.get(URL).text, "accepted")


def test_turning_everything_off_posts_no_field_and_is_saved(client, member):
    client.force_login(member)

    client.post(URL, {})
    client.post(URL, {})  # saved twice: still one row

    setting = NotificationSetting.objects.get(user=member)
    assert not (setting.accepted or setting.rejected or setting.held)


def test_the_user_menu_links_to_it(client, member):
    client.force_login(member)

    assert f'href="{URL}"' in client.get("/").text


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "nl",
            [
                "Meldingen",
                "Aanvaarde facturen",
                "Tegengehouden en niet afgeleverde facturen",
                "Meldingsinstellingen opslaan",
            ],
        ),
        (
            "fr",
            ["Notifications", "Factures acceptées", "Factures refusées et en doublon", "Enregistrer les paramètres"],
        ),
    ],
)
def test_the_page_speaks_dutch_and_french(client, member, settings, language, words):
    client.force_login(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    page = client.get(URL).text

    for word in words:
        assert word in page, word


def test_every_checkbox_has_its_label(client, member):
    client.force_login(member)

    page = client.get(URL).text

    for name in ("accepted", "rejected", "held"):
        assert f'<label class="form-check-label" for="id_{name}">' in page and f'id="id_{name}"' in page
