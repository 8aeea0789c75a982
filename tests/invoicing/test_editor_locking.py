"""Two people editing one draft: the second save is refused, keeps what they typed, and overwrites nothing."""

import re

import pytest
from django.test import Client

from accounts.models import Membership
from clearfacts_app.models import Activity
from invoicing import services
from invoicing.models import Invoice
from tests.factories import make_user
from tests.invoicing.editor_helpers import complete_profile, make_invoice


@pytest.fixture
def draft(administration, member):
    complete_profile(administration)
    return make_invoice(administration, member, lines=2)


def edit_url(invoice):
    return f"/administrations/{invoice.administration.company_number}/invoices/{invoice.pk}/edit/"


def opened(client: Client, invoice) -> dict:
    """The edit page as a browser has it open: every field's value, as it would post them back."""
    response = client.get(edit_url(invoice))
    form, formset = response.context["form"], response.context["formset"]
    data = {name: "" if value is None else value for name, value in ((f.html_name, f.value()) for f in form)}
    data["version"] = re.search(r'name="version" value="(\d+)"', response.text)[1]
    for subform in formset.forms:
        data |= {f.html_name: "" if f.value() is None else f.value() for f in subform}
    data |= {f.html_name: f.value() for f in formset.management_form}
    data.pop("lines-0-DELETE", None), data.pop("lines-1-DELETE", None)
    return {name: str(value) for name, value in data.items()}


def test_the_second_save_is_refused_keeps_its_typed_values_and_the_first_survives(
    client, member, office, administration, draft
):
    colleague = make_user(office, role=Membership.Role.MEMBER, administrations=[administration], name="Ann Smet")
    first, second = Client(), Client()
    first.force_login(member)
    second.force_login(colleague)
    first_form, second_form = opened(first, draft), opened(second, draft)

    saved = first.post(edit_url(draft), first_form | {"action": "save", "buyer_name": "Changed by the first"})
    refused = second.post(
        edit_url(draft),
        second_form | {"action": "save", "buyer_name": "Typed by the second", "lines-0-description": "Second's line"},
    )

    assert saved.status_code == 302
    assert refused.status_code == 409
    assert 'data-testid="conflict"' in refused.text
    assert "Someone else saved this invoice while you were editing; your changes are not saved yet." in refused.text
    latest = refused.text.split('data-testid="latest-version"')[0].rsplit("<a ", 1)[1]
    assert f'href="/administrations/{administration.company_number}/invoices/{draft.pk}/"' in latest
    assert 'target="_blank"' in latest
    assert 'value="Typed by the second"' in refused.text and 'value="Second&#x27;s line"' in refused.text
    draft.refresh_from_db()
    assert draft.buyer_name == "Changed by the first" and draft.version == 2
    assert list(draft.lines.values_list("description", flat=True)) == ["Line 1", "Line 2"]
    assert Activity.objects.filter(action="invoice.changed").count() == 1


def test_after_a_conflict_saving_again_knowingly_replaces_the_latest_version(
    client, member, office, administration, draft
):
    colleague = make_user(office, role=Membership.Role.MEMBER, administrations=[administration], name="Ann Smet")
    first, second = Client(), Client()
    first.force_login(member)
    second.force_login(colleague)
    first_form, second_form = opened(first, draft), opened(second, draft)
    first.post(edit_url(draft), first_form | {"action": "save", "buyer_name": "Changed by the first"})
    refused = second.post(edit_url(draft), second_form | {"action": "save", "buyer_name": "Typed by the second"})

    # The refused page now carries the latest version: saving it again is a decision, not an accident.
    assert re.search(r'name="version" value="2"', refused.text)
    again = second.post(
        edit_url(draft), second_form | {"action": "save", "buyer_name": "Typed by the second", "version": "2"}
    )

    assert again.status_code == 302
    draft.refresh_from_db()
    assert draft.buyer_name == "Typed by the second" and draft.version == 3


def test_a_save_without_the_version_it_was_opened_at_is_refused(client, member, draft):
    client.force_login(member)
    data = opened(client, draft) | {"action": "save", "buyer_name": "No version", "version": ""}

    response = client.post(edit_url(draft), data)

    assert response.status_code == 409
    draft.refresh_from_db()
    assert draft.buyer_name == "Cliente SpA" and draft.version == 1


def test_the_update_service_refuses_a_stale_version_and_changes_nothing(member, draft):
    draft.buyer_name = "Stale"
    lines = list(draft.lines.all())[:1]

    with pytest.raises(services.InvoiceConflict):
        services.invoice_update(invoice=draft, editor=member, expected_version=0, lines=lines)

    fresh = Invoice.objects.get(pk=draft.pk)
    assert fresh.buyer_name == "Cliente SpA" and fresh.version == 1 and fresh.lines.count() == 2


def test_the_update_service_refuses_an_invoice_that_left_draft(member, draft):
    Invoice.objects.filter(pk=draft.pk).update(status=Invoice.Status.SUBMITTING)
    draft.buyer_name = "Too late"

    with pytest.raises(services.InvoiceConflict):
        services.invoice_update(invoice=draft, editor=member, expected_version=1, lines=list(draft.lines.all()))

    assert Invoice.objects.get(pk=draft.pk).buyer_name == "Cliente SpA"


def test_the_update_service_will_not_take_over_another_invoices_line(member, administration, draft):
    other = make_invoice(administration, member, number="2026-0002")
    stranger = other.lines.get()

    with pytest.raises(ValueError, match="not lines of invoice"):
        services.invoice_update(invoice=draft, editor=member, expected_version=1, lines=[stranger])

    stranger.refresh_from_db()
    assert stranger.invoice == other
    assert Invoice.objects.get(pk=draft.pk).version == 1
