"""Drafting an invoice through the editor's pages, as a browser without JavaScript does."""

from datetime import date
from decimal import Decimal

import pytest

from clearfacts_app.models import Activity
from invoicing import buyers, payload, profiles, rules
from invoicing.models import Buyer, Invoice, InvoiceLine
from invoicing.rules import Problem
from tests.invoicing.editor_helpers import IBAN, PARTITA_IVA, complete_profile, edit_data, form_data, make_invoice


@pytest.fixture
def profile(administration):
    return complete_profile(administration)


def new_url(administration):
    return f"/administrations/{administration.company_number}/invoices/new/"


def edit_url(invoice):
    return f"/administrations/{invoice.administration.company_number}/invoices/{invoice.pk}/edit/"


def detail_url(invoice):
    return f"/administrations/{invoice.administration.company_number}/invoices/{invoice.pk}/"


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return client


# The empty form


def test_a_new_invoice_starts_from_the_profile_and_today(signed_in, administration, profile):
    response = signed_in.get(new_url(administration))

    form = response.context["form"]
    assert response.status_code == 200
    assert form["issue_date"].value() == date.today()
    assert form["currency"].value() == profile.default_currency
    assert form["iban"].value() == IBAN and form["bic"].value() == "GEBABEBB"
    assert form["document_type"].value() == "invoice"
    # The number is left to the pattern; the page says which one it would be.
    assert f'placeholder="{date.today().year}-0001"' in response.text
    assert len(response.context["formset"].forms) == 1  # one empty line to start with
    assert 'name="original_invoice"' not in response.text.replace('type="hidden" name="original_invoice"', "")


def test_type_in_the_address_makes_a_credit_note_with_the_original_invoice_select(signed_in, administration, profile):
    response = signed_in.get(new_url(administration) + "?type=credit_note")

    assert response.context["form"]["document_type"].value() == "credit_note"
    assert '<select name="original_invoice"' in response.text


def test_an_unknown_type_in_the_address_is_ignored(signed_in, administration, profile):
    response = signed_in.get(new_url(administration) + "?type=receipt")

    assert response.context["form"]["document_type"].value() == "invoice"


# Saving


def test_saving_creates_the_draft_with_supplier_number_due_date_lines_and_activity(
    signed_in, member, administration, profile
):
    lines = [
        {"description": "Software licence Q1", "quantity": "1", "unit": "EA", "unit_price": "1000", "tax_code": "S"},
        {"description": "Support hours", "quantity": "8", "unit": "hur", "unit_price": "125.00", "tax_code": "AA"},
    ]
    response = signed_in.post(
        new_url(administration), form_data(lines=lines, iban="be71 0961 2345 6769", bic="gebabebb")
    )

    invoice = Invoice.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(invoice)
    assert invoice.administration == administration and invoice.author == member
    assert invoice.status == Invoice.Status.DRAFT and invoice.version == 1
    assert invoice.invoice_number == "2026-0001"  # the pattern, with the issue date's year
    assert invoice.due_date == date(2026, 4, 1)  # 2 March + 30 days of payment terms
    assert (invoice.supplier_name, invoice.supplier_tax_id, invoice.supplier_city) == (
        administration.name,
        administration.company_number,
        "Gent",
    )
    assert invoice.buyer_tax_id == PARTITA_IVA  # "IT 00743110157" without its prefix and space
    assert (invoice.iban, invoice.bic) == (IBAN, "GEBABEBB")
    assert invoice.it_codice_destinatario == "ABC1234"
    assert [
        (line.position, line.description, line.quantity, line.unit, line.tax_code) for line in invoice.lines.all()
    ] == [
        (1, "Software licence Q1", Decimal("1"), "EA", "S"),
        (2, "Support hours", Decimal("8"), "HUR", "AA"),
    ]
    activity = Activity.objects.get(action="invoice.created")
    assert activity.administration == administration and activity.actor == member
    assert activity.data["invoice"] == invoice.pk


def test_a_typed_number_and_due_date_are_kept(signed_in, administration, profile):
    signed_in.post(new_url(administration), form_data(invoice_number="F-77", due_date="2026-03-20"))

    invoice = Invoice.objects.get()
    assert (invoice.invoice_number, invoice.due_date) == ("F-77", date(2026, 3, 20))
    profile.refresh_from_db()
    assert profile.next_sequence == 1  # no number of the pattern was used up


def test_fields_that_do_not_apply_are_not_saved(signed_in, administration, profile):
    data = form_data(
        country="DE",
        it_codice_destinatario="ABC1234",
        de_buyer_reference="04011000-12345-67",
        lines=[
            {"description": "Beratung", "quantity": "1", "unit_price": "10", "tax_code": "S", "exemption_reason": "x"}
        ],
        buyer_tax_id="",
    )
    signed_in.post(new_url(administration), data)

    invoice = Invoice.objects.get()
    assert invoice.it_codice_destinatario == "" and invoice.de_buyer_reference == "04011000-12345-67"
    assert invoice.original_invoice is None
    assert invoice.lines.get().exemption_reason == ""  # only an exempt (E) line states a reason


def test_an_exempt_line_keeps_its_reason(signed_in, administration, profile):
    line = {
        "description": "Training",
        "quantity": "1",
        "unit_price": "10",
        "tax_code": "E",
        "exemption_reason": "Art. 10",
    }
    signed_in.post(new_url(administration), form_data(lines=[line]))

    assert Invoice.objects.get().lines.get().exemption_reason == "Art. 10"


def test_a_refused_save_shows_everything_typed_with_the_errors_on_top_and_beside_the_fields(
    signed_in, administration, profile
):
    lines = [{"description": "", "quantity": "abc", "unit_price": "10", "tax_code": "S"}]
    response = signed_in.post(
        new_url(administration), form_data(buyer_name="", buyer_street="Via Nuova 3", lines=lines)
    )

    assert response.status_code == 200
    assert not Invoice.objects.exists()
    assert 'value="Via Nuova 3"' in response.text
    summary = response.text.split('data-testid="error-summary"')[1].split("</div>")[0]
    assert 'href="#id_buyer_name"' in summary
    assert 'href="#id_lines-0-quantity"' in summary and "Line 1, Quantity" in summary
    assert 'id="id_buyer_name_error"' in response.text
    assert 'aria-describedby="id_buyer_name_error"' in response.text


def test_the_rules_problems_sit_beside_their_field_line_or_on_top(signed_in, administration, profile, monkeypatch):
    seen = {}

    def problems(invoice, lines):
        seen.update(city=invoice.supplier_city, number=invoice.invoice_number, lines=lines)
        return [
            Problem("buyer_tax_id", "Not a valid Partita IVA."),
            Problem("__all__", "Something about the whole invoice."),
            Problem("supplier_city", "Clearvo needs the supplier's city."),
            Problem("lines", "Add at least one line."),
            Problem("quantity", "Must be more than zero.", line=1),
            Problem("__all__", "Something about the second line.", line=1),
        ]

    monkeypatch.setattr(rules, "invoice_problems", problems)
    lines = [
        {"description": "One", "quantity": "1", "unit_price": "10", "tax_code": "S"},
        {"description": "Two", "quantity": "0", "unit_price": "10", "tax_code": "S"},
    ]
    response = signed_in.post(new_url(administration), form_data(lines=lines))

    assert not Invoice.objects.exists()
    form, formset = response.context["form"], response.context["formset"]
    assert form.errors["buyer_tax_id"] == ["Not a valid Partita IVA."]
    assert "Something about the whole invoice." in form.non_field_errors()
    assert "Supplier city: Clearvo needs the supplier's city." in form.non_field_errors()
    assert "Add at least one line." in form.non_field_errors()
    assert formset.forms[1].errors["quantity"] == ["Must be more than zero."]
    assert formset.forms[1].non_field_errors() == ["Something about the second line."]
    # The rules saw the invoice as it would be sent: supplier from the profile, the number to come.
    assert (seen["city"], seen["number"]) == ("Gent", "2026-0001")
    assert [line.description for line in seen["lines"]] == ["One", "Two"]


def test_an_empty_extra_line_is_not_saved(signed_in, administration, profile):
    lines = [
        {"description": "One", "quantity": "2", "unit": "EA", "unit_price": "10", "tax_code": "S"},
        {"description": "", "quantity": "", "unit": "EA", "unit_price": "", "tax_code": "S"},
    ]
    signed_in.post(new_url(administration), form_data(lines=lines))

    assert Invoice.objects.get().lines.count() == 1


def test_the_buyer_is_remembered_in_the_address_book_when_saved(signed_in, administration, profile, monkeypatch):
    def remember(invoice):
        invoice.buyer = Buyer.objects.create(
            administration=invoice.administration, name=invoice.buyer_name, city=invoice.buyer_city
        )

    monkeypatch.setattr(buyers, "buyer_remember", remember)
    signed_in.post(new_url(administration), form_data())

    invoice = Invoice.objects.get()
    assert invoice.buyer.name == "Cliente SpA" and invoice.buyer.administration == administration


# Editing


def test_editing_a_draft_saves_the_changes_bumps_the_version_and_records_them(
    signed_in, member, administration, profile
):
    invoice = make_invoice(administration, member, lines=2)
    first, second = invoice.lines.all()
    data = edit_data(invoice, buyer_name="Cliente Nuovo SpA")
    data["lines-1-DELETE"] = "on"
    data["lines-0-quantity"] = "3"

    response = signed_in.post(edit_url(invoice), data)

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.buyer_name == "Cliente Nuovo SpA" and invoice.version == 2
    assert list(invoice.lines.values_list("pk", "quantity")) == [(first.pk, Decimal("3"))]
    assert not InvoiceLine.objects.filter(pk=second.pk).exists()
    assert Activity.objects.get(action="invoice.changed").data["version"] == 2


def test_a_sent_invoice_cannot_be_edited_and_goes_to_its_page_with_a_message(
    signed_in, member, administration, profile
):
    invoice = make_invoice(administration, member, status=Invoice.Status.PENDING)

    response = signed_in.get(edit_url(invoice), follow=True)
    posted = signed_in.post(edit_url(invoice), edit_data(invoice, buyer_name="Changed"))

    assert response.redirect_chain == [(detail_url(invoice), 302)]
    assert "Only drafts can be changed" in response.text
    assert posted.status_code == 302
    invoice.refresh_from_db()
    assert invoice.buyer_name == "Cliente SpA"


def test_an_htmx_post_to_a_sent_invoice_redirects_the_browser(signed_in, member, administration, profile):
    invoice = make_invoice(administration, member, status=Invoice.Status.ACCEPTED)

    response = signed_in.post(edit_url(invoice), edit_data(invoice, action="add-line"), headers={"HX-Request": "true"})

    assert response.status_code == 200 and response["HX-Redirect"] == detail_url(invoice)


# The profile comes first


def test_without_a_profile_the_new_invoice_page_says_what_is_missing_and_links_to_the_profile(
    signed_in, administration
):
    response = signed_in.get(new_url(administration))
    posted = signed_in.post(new_url(administration), form_data())

    assert 'data-testid="profile-missing"' in response.text
    assert f'href="/administrations/{administration.company_number}/invoicing/profile/"' in response.text
    assert 'id="invoice-form"' not in response.text
    assert 'data-testid="profile-missing"' in posted.text
    assert not Invoice.objects.exists()


def test_an_incomplete_profile_lists_each_problem(signed_in, administration, profile, monkeypatch):
    monkeypatch.setattr(profiles, "profile_problems", lambda profile: [Problem("city", "Clearvo requires the city.")])

    response = signed_in.get(new_url(administration))
    signed_in.post(new_url(administration), form_data())

    assert "City: Clearvo requires the city." in response.text
    assert not Invoice.objects.exists()


def test_an_incomplete_profile_does_not_keep_a_draft_from_being_edited(signed_in, member, administration, profile):
    invoice = make_invoice(administration, member)
    profile.delete()

    assert signed_in.get(edit_url(invoice)).status_code == 200


# Who may do what


def test_viewers_read_the_preview_but_may_not_draft_or_edit(client, viewer, member, administration, profile):
    invoice = make_invoice(administration, member)
    client.force_login(viewer)

    assert client.get(new_url(administration)).status_code == 403
    assert client.post(new_url(administration), form_data()).status_code == 403
    assert client.get(edit_url(invoice)).status_code == 403
    assert client.post(edit_url(invoice), edit_data(invoice, buyer_name="Viewer")).status_code == 403
    preview = client.get(detail_url(invoice))
    assert preview.status_code == 200
    assert 'data-testid="edit-invoice"' not in preview.text
    assert Invoice.objects.get().buyer_name == "Cliente SpA"


def test_members_see_the_edit_button_on_drafts_only(signed_in, member, administration, profile):
    draft = make_invoice(administration, member)
    sent = make_invoice(administration, member, number="2026-0002", status=Invoice.Status.PENDING)

    assert 'data-testid="edit-invoice"' in signed_in.get(detail_url(draft)).text
    assert 'data-testid="edit-invoice"' not in signed_in.get(detail_url(sent)).text


def test_outsiders_get_404_everywhere(client, outsider, member, administration, profile):
    invoice = make_invoice(administration, member)
    client.force_login(outsider)

    for url in (new_url(administration), edit_url(invoice), detail_url(invoice), detail_url(invoice) + "payload.json"):
        assert client.get(url).status_code == 404, url
    assert client.post(edit_url(invoice), edit_data(invoice, buyer_name="Outsider")).status_code == 404
    assert Invoice.objects.get().buyer_name == "Cliente SpA"


# Ids that arrive in the form are looked up through the administration


def test_another_administrations_invoice_is_refused_as_original(
    signed_in, member, outsider, administration, other_administration, profile
):
    theirs = make_invoice(other_administration, outsider, number="THEIRS-1")

    response = signed_in.post(
        new_url(administration), form_data(document_type="credit_note", original_invoice=str(theirs.pk))
    )

    assert response.status_code == 200
    assert "original_invoice" in response.context["form"].errors
    assert not Invoice.objects.filter(administration=administration).exists()
    assert f'value="{theirs.pk}"' not in response.text.split('name="original_invoice"')[1].split("</select>")[0]


def test_a_credit_note_refers_to_an_invoice_of_the_same_administration(signed_in, member, administration, profile):
    original = make_invoice(administration, member)

    signed_in.post(new_url(administration), form_data(document_type="credit_note", original_invoice=str(original.pk)))

    note = Invoice.objects.get(document_type="credit_note")
    assert note.original_invoice == original


def test_a_line_of_another_invoice_posted_in_the_formset_is_refused_and_left_alone(
    signed_in, member, outsider, administration, other_administration, profile
):
    invoice = make_invoice(administration, member)
    neighbour = make_invoice(administration, member, number="2026-0002")
    foreign = make_invoice(other_administration, outsider, number="THEIRS-1")
    for stranger in (neighbour.lines.get(), foreign.lines.get()):
        data = edit_data(invoice)
        data["lines-0-id"] = str(stranger.pk)
        data["lines-0-description"] = "Taken over"

        response = signed_in.post(edit_url(invoice), data)

        assert response.status_code == 200
        assert response.context["formset"].forms[0].errors
        stranger.refresh_from_db()
        assert (stranger.invoice_id, stranger.description) != (invoice.pk, "Taken over")
        assert stranger.description == "Line 1"
    invoice.refresh_from_db()
    assert invoice.version == 1 and invoice.lines.get().description == "Line 1"


def test_a_line_posted_as_new_with_a_foreign_id_is_refused(
    signed_in, member, outsider, administration, other_administration, profile
):
    foreign = make_invoice(other_administration, outsider, number="THEIRS-1").lines.get()
    line = {"id": str(foreign.pk), "description": "Taken over", "quantity": "1", "unit_price": "10", "tax_code": "S"}

    response = signed_in.post(new_url(administration), form_data(lines=[line]))

    assert response.status_code == 200 and not Invoice.objects.filter(administration=administration).exists()
    foreign.refresh_from_db()
    assert foreign.description == "Line 1"


def test_another_administrations_buyer_is_never_linked(
    signed_in, member, administration, other_administration, profile
):
    theirs = Buyer.objects.create(administration=other_administration, name="Their buyer", city="Lyon")

    signed_in.post(new_url(administration), form_data(buyer=str(theirs.pk)))

    invoice = Invoice.objects.get()
    assert invoice.buyer_id != theirs.pk
    theirs.refresh_from_db()
    assert (theirs.name, theirs.city) == ("Their buyer", "Lyon")


def test_using_another_administrations_buyer_fills_in_nothing_and_says_so(
    signed_in, administration, other_administration, profile
):
    theirs = Buyer.objects.create(administration=other_administration, name="Their buyer", city="Lyon")

    response = signed_in.post(
        new_url(administration), form_data(action=f"use-buyer:buyer:{theirs.pk}", buyer_name="", buyer_city="")
    )

    assert response.status_code == 200
    assert 'data-testid="notice"' in response.text
    assert response.context["form"]["buyer_name"].value() == ""
    assert "Their buyer" not in response.text


# Finding and using a buyer, without JavaScript


def test_find_buyer_lists_the_suggestions_under_the_search_box(signed_in, member, administration, profile, monkeypatch):
    asked = {}

    def suggestions(*, user, administration, query, limit=10):
        asked.update(user=user, administration=administration, query=query)
        return [buyers.Suggestion(key="customer:42", name="Rossi Srl", city="Milano", from_clearfacts=True)]

    monkeypatch.setattr(buyers, "buyer_suggestions", suggestions)

    response = signed_in.post(new_url(administration), form_data(action="find-buyer", buyer_query=" rossi "))

    assert asked == {"user": member, "administration": administration, "query": "rossi"}
    assert "<html" in response.text  # the whole page, as the browser without JavaScript needs
    assert 'value="use-buyer:customer:42"' in response.text and "Rossi Srl" in response.text
    assert not Invoice.objects.exists()


def test_use_buyer_fills_in_the_buyer_fields(signed_in, member, administration, profile, monkeypatch):
    entry = Buyer.objects.create(administration=administration, name="Rossi Srl", city="Milano")

    def fields(key, *, user, administration):
        assert key == f"buyer:{entry.pk}"
        return {
            "buyer": entry,
            "buyer_name": "Rossi Srl",
            "buyer_tax_id": PARTITA_IVA,
            "buyer_tax_id_country": "IT",
            "buyer_city": "Milano",
            "buyer_country": "IT",
            "it_codice_destinatario": "XYZ9876",
        }

    monkeypatch.setattr(buyers, "buyer_fields", fields)
    response = signed_in.post(
        new_url(administration), form_data(action=f"use-buyer:buyer:{entry.pk}", buyer_name="", buyer_query="ross")
    )

    form = response.context["form"]
    assert form["buyer_name"].value() == "Rossi Srl" and form["buyer_city"].value() == "Milano"
    assert form["it_codice_destinatario"].value() == "XYZ9876"
    assert str(form["buyer"].value()) == str(entry.pk)
    assert 'name="buyer_query" value=""' in response.text

    saved = signed_in.post(new_url(administration), {**response.context["form"].data, "action": "save"})
    assert saved.status_code == 302
    assert Invoice.objects.get().buyer == entry


# The preview


def test_the_preview_shows_the_invoice_as_the_buyer_reads_it_in_the_readers_locale(
    client, member, administration, profile, settings
):
    invoice = make_invoice(
        administration,
        member,
        lines=0,
        supplier_city="Gent",
        buyer_street="Via Veneto 10",
        due_date=date(2026, 4, 1),
        iban=IBAN,
        it_codice_destinatario="ABC1234",
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        position=1,
        description="Licence",
        quantity=Decimal("1.5"),
        unit_price=Decimal("1000"),
        tax_code="S",
    )
    client.force_login(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"

    response = client.get(detail_url(invoice))

    text = response.text
    assert "Via Veneto 10" in text and "Cliente SpA" in text and administration.name in text
    assert ">1,5<" in text  # the quantity as the reader writes it
    assert '<span data-testid="total-net">1.500,00</span> EUR' in text
    assert '<span data-testid="total-vat">330,00</span> EUR' in text
    assert '<span data-testid="total-gross">1.830,00</span> EUR' in text
    assert "ABC1234" in text and IBAN in text
    assert 'data-testid="authority-prevails"' in text


def test_the_preview_shows_the_original_invoice_of_a_note(signed_in, member, administration, profile):
    original = make_invoice(administration, member)
    note = make_invoice(administration, member, number="CN-1", document_type="credit_note", original_invoice=original)

    response = signed_in.get(detail_url(note))

    assert f'href="{detail_url(original)}"' in response.text.split('data-testid="original-invoice"')[1]


def test_the_preview_and_the_download_carry_the_exact_payload_bytes(
    signed_in, member, administration, profile, monkeypatch
):
    monkeypatch.setattr(payload, "invoice_payload", lambda invoice: {"buyer": {"name": "Rossi & <Figli>"}, "n": 1.5})
    invoice = make_invoice(administration, member, number="2026/0001")
    expected = payload.payload_bytes(invoice)

    preview = signed_in.get(detail_url(invoice))
    download = signed_in.get(detail_url(invoice) + "payload.json")

    assert download.status_code == 200 and download["Content-Type"] == "application/json"
    assert download.content == expected
    assert download["Content-Disposition"] == 'attachment; filename="clearvo-2026-0001.json"'
    shown = preview.text.split('data-testid="payload"><code>')[1].split("</code>")[0]
    assert (
        shown.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
        == expected.decode()
    )
