"""The office's Clearvo key: entered by office administrators, recognised by its prefix, encrypted at rest,
never shown back, and removed to fall back on the platform's key."""

import re

import pytest
from django.conf import settings
from django.db import connection

from invoicing import clearvo
from invoicing.models import ClearvoAccount

URL = "/office/clearvo/"
LIVE_KEY = "ck_live_Zq8RkW2mXv7TnB4c9d1e"
TEST_KEY = "ck_test_Hk3LpQ9sYt6UwR2a5f8g"


def page(client, user, language="en"):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.get(URL)


def key_input(text: str) -> str:
    """The form's key field, as rendered."""
    return re.search(r'<input type="password" name="api_key"[^>]*>', text)[0]


def save(client, user, key):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.post(URL, {"api_key": key}, follow=True)


def test_only_office_administrators_reach_the_page(client, owner, member, viewer):
    assert page(client, owner).status_code == 200
    for person in (member, viewer):
        assert page(client, person).status_code == 403
        assert client.post(URL, {"api_key": LIVE_KEY}).status_code == 403
    assert client.patch(URL).status_code == 405
    assert not ClearvoAccount.objects.exists()


def test_the_office_page_links_to_it_for_administrators_only(client, owner, member):
    client.force_login(owner)
    assert f'href="{URL}"' in client.get("/office/").text
    client.force_login(member)
    assert f'href="{URL}"' not in client.get("/office/").text


def test_without_a_key_of_its_own_the_office_uses_the_platforms(client, owner):
    text = page(client, owner).text

    assert 'data-testid="platform-key"' in text
    assert "The platform's default test key: the office has no key of its own." in text
    assert settings.CLEARVO_API_KEY not in text


def test_a_live_key_is_saved_encrypted_and_used_from_then_on(client, owner, office):
    response = save(client, owner, f"  {LIVE_KEY} ")

    account = ClearvoAccount.objects.get(office=office)
    assert account.api_key == LIVE_KEY and account.mode == "live" and account.updated_by == owner
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM invoicing_clearvoaccount WHERE id = %s", [account.pk])
        (stored,) = cursor.fetchone()
    assert LIVE_KEY not in stored and "ck_live_" not in stored and stored
    assert clearvo.client_for(office).api_key == LIVE_KEY
    # Shown by its mode and last four characters only, never as itself.
    assert "The LIVE key ending in 9d1e is saved: the next submissions use it." in response.text
    assert "The office's own live key, ending in 9d1e." in response.text
    assert LIVE_KEY not in response.text and LIVE_KEY[8:-4] not in response.text


@pytest.mark.parametrize(
    "key",
    [
        "sk_live_Zq8RkW2mXv7TnB4c9d1e",  # another service's key
        "ck_prod_Zq8RkW2mXv7TnB4c9d1e",
        "ck_live_",  # the prefix alone
        "ck_live_abc def ghi",
        "Zq8RkW2mXv7TnB4c9d1e",
    ],
)
def test_a_key_without_a_clearvo_prefix_is_refused_and_not_echoed(client, owner, key):
    response = save(client, owner, key)

    assert response.status_code == 200 and not ClearvoAccount.objects.exists()
    assert "This is not a Clearvo key: a key starts with ck_test_ (test) or ck_live_ (live)" in response.text
    assert "value=" not in key_input(response.text)
    if len(key) > len("ck_live_"):
        assert key not in response.text


def test_replacing_the_key_keeps_one_account_and_the_form_never_shows_it(client, owner, office):
    save(client, owner, LIVE_KEY)
    response = save(client, owner, TEST_KEY)

    assert ClearvoAccount.objects.get(office=office).api_key == TEST_KEY
    assert 'type="password"' in response.text and "value=" not in response.text.split('data-testid="key-form"')[
        1
    ].split("</form>")[0].replace('name="csrfmiddlewaretoken" value=', "")
    assert "The office's own test key, ending in 5f8g." in response.text


def test_removing_the_key_falls_back_to_the_platforms(client, owner, office):
    save(client, owner, LIVE_KEY)
    client.force_login(owner)

    response = client.post(URL, {"action": "remove"}, follow=True)

    assert not ClearvoAccount.objects.exists()
    assert clearvo.client_for(office).api_key == settings.CLEARVO_API_KEY
    assert "The office&#x27;s key is removed: submissions use the platform&#x27;s key now." in response.text
    assert 'data-testid="platform-key"' in response.text


def test_without_a_platform_key_the_page_says_nothing_can_be_submitted(client, owner, settings):
    settings.CLEARVO_API_KEY = ""

    text = page(client, owner).text

    assert 'data-testid="no-key"' in text and "Invoices cannot be submitted until you enter one." in text


def test_an_office_changes_only_its_own_key(client, owner, outsider, other_office, office):
    ClearvoAccount.objects.create(office=other_office, api_key=TEST_KEY)
    save(client, owner, LIVE_KEY)

    assert ClearvoAccount.objects.get(office=other_office).api_key == TEST_KEY
    assert ClearvoAccount.objects.get(office=office).api_key == LIVE_KEY


def test_saving_a_key_starts_again_the_status_checks_a_refused_key_stopped(client, owner, office, administration):
    from invoicing.models import Submission
    from invoicing.polling import Reason
    from tests.factories import make_invoice
    from tests.invoicing.clearance_helpers import make_submission

    invoice = make_invoice(administration, owner, status="pending")
    stopped = make_submission(
        invoice,
        owner,
        state=Submission.State.SENT,
        clearance_status="PENDING",
        reference_id="PL-1",
        reason_code=Reason.KEY_REFUSED,
        next_poll_at=None,
    )

    save(client, owner, LIVE_KEY)

    stopped.refresh_from_db()
    assert stopped.next_poll_at is not None and stopped.reason_code == ""
