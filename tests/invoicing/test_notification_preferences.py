"""The bell's e-mail switches on the notification settings page, beside the outcome e-mails: one form, one save."""

import pytest

from clearfacts_app.models import NotificationPreference
from invoicing.models import NotificationSetting

URL = "/account/notifications/"
BELL_SWITCHES = ("review_assigned", "mentioned", "document_problem", "cockpit")


def checked(page: str, name: str) -> bool:
    tag = page.split(f'name="{name}"', 1)[1].split(">", 1)[0]
    return "checked" in tag


def test_every_switch_is_on_by_default_and_labelled(client, viewer):
    client.force_login(viewer)

    page = client.get(URL).text

    assert all(checked(page, name) for name in BELL_SWITCHES + ("accepted", "rejected", "held"))
    assert "Reviews" in page and "Documents held or failed" in page
    # The one switch also governs the e-mail that a colleague approved one's invoice: it says so.
    assert "A colleague asks you to review an invoice, or approved one of yours." in page
    form = page.split('data-testid="notification-settings-form"', 1)[1].split("</form>", 1)[0]
    assert form.count('type="submit"') == 1 and 'name="review_assigned"' in form and 'name="accepted"' in form
    assert not NotificationPreference.objects.exists()


def test_one_save_stores_both_kinds_of_switch_for_that_person_only(client, viewer, member):
    client.force_login(viewer)

    response = client.post(URL, {"accepted": "on", "rejected": "on", "held": "on", "mentioned": "on"}, follow=True)

    assert "Your notification settings are saved." in response.text
    preference = NotificationPreference.objects.get()
    assert preference.user == viewer
    assert (preference.review_assigned, preference.mentioned, preference.document_problem) == (False, True, False)
    assert not preference.cockpit
    assert not checked(response.text, "review_assigned") and checked(response.text, "mentioned")
    assert NotificationSetting.objects.get(user=viewer).accepted
    client.force_login(member)
    assert checked(client.get(URL).text, "review_assigned")


def test_saving_twice_keeps_one_row(client, member):
    client.force_login(member)

    client.post(URL, {})
    client.post(URL, {"document_problem": "on"})

    preference = NotificationPreference.objects.get(user=member)
    assert preference.document_problem and not preference.mentioned


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_labels_are_translated(client, member, language):
    client.force_login(member)

    page = client.get(URL, headers={"accept-language": language}).text

    assert "or approved one of yours" not in page and "Also e-mail me what the bell shows" not in page
    assert {"nl": "of fiatteerde een factuur van u", "fr": "ou a approuvé l’une des vôtres"}[language] in page


def test_the_clearance_queue_switch_is_on_the_page_and_saved(client, member):
    """It governs the e-mails of a problem assigned to one and of an invoice stuck past its limit."""
    client.force_login(member)

    page = client.get(URL).text
    form = page.split('data-testid="notification-preferences"', 1)[1].split("</fieldset>", 1)[0]
    assert 'name="cockpit"' in form and "Clearance queue" in form
    assert "or an invoice you wrote, approved or were assigned is stuck." in form

    response = client.post(URL, {name: "on" for name in BELL_SWITCHES if name != "cockpit"}, follow=True)

    preference = NotificationPreference.objects.get(user=member)
    assert not preference.cockpit and preference.mentioned and preference.review_assigned
    assert not checked(response.text, "cockpit") and checked(response.text, "mentioned")
    assert not preference.wants_email("status_stale") and not preference.wants_email("assigned")
    client.post(URL, {"cockpit": "on"})
    assert NotificationPreference.objects.get(user=member).cockpit


@pytest.mark.parametrize("language, label", [("nl", "Opvolging"), ("fr", "Suivi")])
def test_the_clearance_queue_switch_is_translated(client, member, language, label):
    client.force_login(member)

    page = client.get(URL, headers={"accept-language": language}).text

    assert label in page and "Clearance queue" not in page
