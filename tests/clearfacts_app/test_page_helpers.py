"""What the pages share: a Clearfacts failure shown on a form, and the cache of Clearfacts' answers."""

import pytest
from django.core.cache import cache

from clearfacts_app import client, selectors
from clearfacts_app.forms import AppInfoForm, AssociateForm


def app_info_form():
    form = AppInfoForm({"email": "support@example.be"})
    form.is_valid()
    return form


def test_an_unreachable_clearfacts_is_said_above_the_form():
    form = app_info_form()

    form.add_change_failure(client.Unavailable("connection refused"))

    assert form.non_field_errors() == ["Clearfacts could not be reached just now. Try again in a moment."]


@pytest.mark.parametrize(
    ("make_form", "clearfacts_field", "field"),
    [(app_info_form, "emailaddress", "email"), (lambda: AssociateForm({}, groups=[]), "lastName", "last_name")],
)
def test_a_refusal_of_one_of_clearfacts_fields_is_shown_on_the_forms_field(make_form, clearfacts_field, field):
    form = make_form()

    form.add_change_failure(client.Refused("This value is not valid.", details={"field": clearfacts_field}))

    assert "This value is not valid." in form.errors[field]


def test_a_refusal_without_words_says_that_clearfacts_refused():
    form = app_info_form()

    form.add_change_failure(client.Refused())

    assert form.non_field_errors() == ["Clearfacts refused the change."]


@pytest.mark.django_db
def test_forgetting_the_associates_makes_the_next_read_ask_clearfacts_again(member):
    key = selectors.cache_key(user=member, operation="AssociatesWithDetails")
    cache.set(key, {"associates": []})

    selectors.forget_associates(user=member)

    assert cache.get(key) is None
