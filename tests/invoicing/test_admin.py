"""Invoices, lines, profiles and buyers in the staff admin; an invoice that left draft cannot be changed there."""

from decimal import Decimal
from html.parser import HTMLParser

import pytest

from invoicing.models import Buyer, Invoice, InvoicingProfile
from tests.factories import make_invoice

Status = Invoice.Status


class FormFields(HTMLParser):
    """The values a browser would post from the page's change form (#invoice_form and the like)."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self.editable: set[str] = set()
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") == "checkbox":
                if "checked" in attrs:
                    self.values[name] = attrs.get("value", "on")
            else:
                self.values[name] = attrs.get("value", "")
            if attrs.get("type") != "hidden":
                self.editable.add(name)
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, "")
            self.editable.add(name)
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""
            self.editable.add(name)

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def form_of(page: str) -> FormFields:
    fields = FormFields()
    fields.feed(page)
    return fields


def change_url(invoice) -> str:
    return f"/admin/invoicing/invoice/{invoice.pk}/change/"


@pytest.fixture
def draft(administration, member):
    return make_invoice(administration, member, invoice_number="D-1", lines=[(Decimal(1), Decimal(10), "S")])


@pytest.fixture
def accepted(administration, member):
    return make_invoice(administration, member, invoice_number="A-1", status=Status.ACCEPTED)


@pytest.mark.parametrize("model", ["invoice", "invoicingprofile", "buyer"])
def test_the_changelists_load_for_staff(admin_client, administration, member, draft, accepted, model):
    InvoicingProfile.objects.create(administration=administration, legal_name="Bakkerij Janssens BV")
    Buyer.objects.create(administration=administration, name="Rossi Forniture Srl")

    response = admin_client.get(f"/admin/invoicing/{model}/", {"q": "r"})

    assert response.status_code == 200


def test_the_invoice_list_searches_numbers_and_buyers(admin_client, draft, accepted):
    assert "D-1" in admin_client.get("/admin/invoicing/invoice/", {"q": "D-1"}).text
    assert "A-1" not in admin_client.get("/admin/invoicing/invoice/", {"q": "D-1"}).text


def test_a_draft_and_its_lines_can_be_changed_by_staff_and_its_version_moves_on(admin_client, draft):
    page = admin_client.get(change_url(draft)).text
    form = form_of(page)
    assert {"buyer_name", "lines-0-description", "lines-0-quantity"} <= form.editable
    assert "status" not in form.editable and "version" not in form.editable

    data = form.values | {"buyer_name": "Bianchi Spa", "lines-0-description": "Consulenza", "_save": "Save"}
    response = admin_client.post(change_url(draft), data)

    assert response.status_code == 302, response.text
    draft.refresh_from_db()
    assert (draft.buyer_name, draft.version, draft.lines.get().description) == ("Bianchi Spa", 2, "Consulenza")


def test_an_invoice_that_left_draft_is_read_only_in_the_admin(admin_client, accepted):
    page = admin_client.get(change_url(accepted))
    form = form_of(page.text)

    assert page.status_code == 200 and "A-1" in page.text and "Rossi Forniture Srl" in page.text
    assert not {name for name in form.editable if not name.startswith(("_", "csrf"))}, form.editable
    assert 'name="_save"' not in page.text and "/delete/" not in page.text


def test_a_post_cannot_change_an_invoice_that_left_draft(admin_client, accepted, draft):
    # The form a draft shows, aimed at the accepted invoice, as a crafted request would be.
    data = form_of(admin_client.get(change_url(draft)).text).values | {"buyer_name": "Changed", "_save": "Save"}
    data |= {"lines-0-id": "", "lines-0-invoice": str(accepted.pk)}

    response = admin_client.post(change_url(accepted), data)

    assert response.status_code == 403
    accepted.refresh_from_db()
    assert (accepted.buyer_name, accepted.version, accepted.lines.count()) == ("Rossi Forniture Srl", 1, 1)
    assert admin_client.post(f"/admin/invoicing/invoice/{accepted.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Invoice.objects.filter(pk=accepted.pk).exists()


def test_invoices_are_not_added_in_the_admin(admin_client):
    assert admin_client.get("/admin/invoicing/invoice/add/").status_code == 403


def test_the_admin_is_for_staff_only(client, member, draft):
    client.force_login(member)

    assert client.get(change_url(draft)).status_code == 302
