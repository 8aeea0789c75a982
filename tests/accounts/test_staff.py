"""Platform staff: e-mail, password and TOTP through allauth; the admin only for them."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core.cache import cache

from accounts.models import User

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def staff(db):
    return User.objects.create_user(
        username="ops@portal.test", email="ops@portal.test", password=PASSWORD, is_staff=True, is_superuser=True
    )


def totp_for(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def current_code(secret: str, *, steps_ago: int = 0) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 - steps_ago))


def staff_login(client, email=None, password=PASSWORD):
    return client.post("/staff/login/", {"login": email or "ops@portal.test", "password": password})


def test_staff_with_totp_sign_in_in_two_steps_and_reach_the_admin(client, staff):
    secret = totp_for(staff)

    first = staff_login(client)
    assert first.status_code == 302 and first["Location"].startswith("/staff/2fa/authenticate/")
    assert client.get("/admin/").status_code == 302, "not signed in before the second factor"
    second = client.post(first["Location"], {"code": current_code(secret)})

    assert second.status_code == 302
    admin = client.get("/admin/")
    assert admin.status_code == 200
    assert "Clearfacts portal administration" in admin.text


def test_a_wrong_totp_code_is_refused(client, staff):
    totp_for(staff)
    first = staff_login(client)

    second = client.post(first["Location"], {"code": "000000"})

    assert second.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_staff_without_totp_must_set_it_up_before_reaching_the_admin(client, staff):
    staff_login(client)

    # The admin sends them to set up TOTP; allauth first asks to confirm the password.
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/staff/reauthenticate/?next=%2Fstaff%2F2fa%2Ftotp%2Factivate%2F"
    activation = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    assert activation.redirect_chain[-1][0] == "/staff/2fa/totp/activate/"
    secret = client.session["mfa.totp.secret"]
    assert secret in activation.text, "the page shows the secret to enter in an authenticator app"
    client.post("/staff/2fa/totp/activate/", {"code": current_code(secret)})

    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    assert client.get("/admin/").status_code == 200


def test_the_totp_secret_is_stored_encrypted(staff):
    secret = totp_for(staff)

    stored = Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP).data["secret"]
    assert secret not in stored


def test_the_admin_refuses_staff_signed_in_any_other_way(client, staff):
    totp_for(staff)
    client.force_login(staff, backend="accounts.oidc.ClearfactsOIDCBackend")

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_admins_own_login_form_hands_over_to_the_staff_sign_in(client, db):
    response = client.get("/admin/login/?next=/admin/accounts/user/")

    assert response.status_code == 302
    assert response["Location"] == "/staff/login/?next=/admin/accounts/user/"


def test_clearfacts_users_cannot_use_the_staff_form(client, member):
    member.set_password(PASSWORD)  # even with a password set somehow
    member.save()

    response = staff_login(client, email=member.email)

    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 302)
    assert client.get("/admin/").status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client, staff):
    response = staff_login(client, password="wrong password")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert 'class="alert alert-danger"' in response.text


def test_staff_sign_in_is_rate_limited(client, staff):
    for attempt in range(5):
        staff_login(client, password=f"wrong {attempt}")

    locked_out = staff_login(client)  # even the right password, for a while

    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in locked_out.text


def test_password_reset_mails_staff_but_not_clearfacts_users(client, staff, member, mailoutbox):
    client.post("/staff/password/reset/", {"email": staff.email})
    client.post("/staff/password/reset/", {"email": member.email})

    assert [mail.to for mail in mailoutbox] == [[staff.email]]
    link = re.search(r"http://testserver(/staff/password/reset/key/\S+)", mailoutbox[0].body)[1]
    assert client.get(link, follow=True).status_code == 200


def test_nobody_can_sign_up(client, db):
    response = client.get("/staff/signup/")

    assert "Sign Up Closed" in response.text or response.status_code in (302, 404)
    assert not User.objects.exists()


def test_the_sign_in_page_offers_clearfacts_first_and_the_staff_form_second(client, db):
    page = client.get("/accounts/sign-in/").text

    clearfacts, staff_form = page.index("Sign in with Clearfacts"), page.index('action="/staff/login/"')
    assert clearfacts < staff_form


def test_a_code_from_the_previous_30_seconds_still_works_but_an_older_one_does_not(client, staff):
    secret = totp_for(staff)

    too_old = client.post(staff_login(client)["Location"], {"code": current_code(secret, steps_ago=2)})
    just_typed = client.post(staff_login(client)["Location"], {"code": current_code(secret, steps_ago=1)})

    assert too_old.status_code == 200, "a code two steps old is refused"
    assert just_typed.status_code == 302 and client.get("/admin/").status_code == 200


def test_the_admins_own_login_form_hands_over_only_a_path_on_this_site(client, db):
    response = client.get("/admin/login/?next=https://evil.example/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/staff/login/?next=/admin/"
