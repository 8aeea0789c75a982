"""E-mailing an invoice to its buyer: the PDF and the UBL, to the address-book e-mail, in the buyer's language."""

import io
from datetime import date

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from clearfacts_app.models import Activity
from invoicing import buyer_mail, ubl
from invoicing.models import Buyer, Invoice
from tests.factories import make_invoice
from tests.invoicing.editor_helpers import complete_profile
from tests.invoicing.notification_helpers import tasks_run_here  # noqa: F401 (a fixture)
from tests.samples import UBL_INVOICE

pytestmark = pytest.mark.django_db


def url(invoice: Invoice, name: str) -> str:
    return reverse(
        f"invoicing:{name}", kwargs={"company_number": invoice.administration.company_number, "invoice_pk": invoice.pk}
    )


@pytest.fixture(autouse=True)
def ubl_written(monkeypatch):
    """A stand-in for the UBL work (invoicing.ubl) until it lands: what is attached, not how it is made."""
    monkeypatch.setattr(ubl, "invoice_ubl", lambda invoice: UBL_INVOICE)
    monkeypatch.setattr(ubl, "ubl_filename", lambda invoice: f"ubl-{invoice.pk}.xml")


@pytest.fixture
def buyer(administration):
    return Buyer.objects.create(
        administration=administration,
        name="Rossi Forniture Srl",
        city="Milano",
        country="IT",
        email="fatture@rossi.example",
        language="fr",
    )


@pytest.fixture
def invoice(administration, member, buyer):
    complete_profile(administration)
    return make_invoice(
        administration,
        member,
        invoice_number="2026-0042",
        issue_date=date(2026, 3, 2),
        due_date=date(2026, 4, 1),
        supplier_name="Bakkerij Janssens BV",
        buyer=buyer,
        language="nl",
        status=Invoice.Status.ACCEPTED,
    )


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return client


def email_buyer(client, invoice, capture):
    with capture(execute=True):
        return client.post(url(invoice, "invoice-email-buyer"), follow=True)


@pytest.mark.usefixtures("tasks_run_here")
def test_the_buyer_gets_the_pdf_and_the_ubl_in_their_language(
    signed_in, member, invoice, django_capture_on_commit_callbacks
):
    response = email_buyer(signed_in, invoice, django_capture_on_commit_callbacks)

    assert "on their way to fatture@rossi.example" in response.text
    [message] = mail.outbox
    assert message.to == ["fatture@rossi.example"]
    assert message.reply_to == [member.email]
    assert message.subject == "Facture 2026-0042 de Bakkerij Janssens BV"  # the buyer's fr, not the invoice's nl
    assert "Ci-joint la facture 2026-0042 du 2 mars 2026" in message.body
    [(pdf_name, pdf_bytes, pdf_type), (ubl_name, ubl_bytes, ubl_type)] = message.attachments
    assert (pdf_name, pdf_type) == ("invoice-2026-0042.pdf", "application/pdf")
    assert "Facture 2026-0042" in PdfReader(io.BytesIO(pdf_bytes)).pages[0].extract_text()
    assert (ubl_name, ubl_bytes, ubl_type) == (f"ubl-{invoice.pk}.xml", UBL_INVOICE, "application/xml")


@pytest.mark.usefixtures("tasks_run_here")
def test_a_buyer_without_a_language_reads_the_invoices(signed_in, buyer, invoice, django_capture_on_commit_callbacks):
    Buyer.objects.filter(pk=buyer.pk).update(language="")
    invoice.refresh_from_db()

    email_buyer(signed_in, invoice, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert message.subject == "Factuur 2026-0042 van Bakkerij Janssens BV"
    assert "Factuur 2026-0042" in PdfReader(io.BytesIO(message.attachments[0][1])).pages[0].extract_text()


@pytest.mark.usefixtures("tasks_run_here")
def test_the_timeline_says_who_sent_it_when_and_where(signed_in, invoice, django_capture_on_commit_callbacks):
    email_buyer(signed_in, invoice, django_capture_on_commit_callbacks)

    text = signed_in.get(url(invoice, "invoice-detail")).text

    assert 'data-testid="buyer-email" data-state="sent"' in text
    assert "sent to fatture@rossi.example by Jan Peeters" in text
    requested, sent = Activity.objects.filter(action__startswith="invoice.email_").order_by("pk")
    assert (requested.action, sent.action) == (buyer_mail.REQUESTED, buyer_mail.SENT)
    assert requested.data["to"] == sent.data["to"] == "fatture@rossi.example"
    assert sent.data["request"] == requested.pk and sent.actor == requested.actor


def test_the_request_waits_for_the_commit_and_a_retried_task_sends_once(
    signed_in, invoice, django_capture_on_commit_callbacks, monkeypatch
):
    dispatched = []
    monkeypatch.setattr(buyer_mail.invoice_email_send, "delay_on_commit", dispatched.append)

    with django_capture_on_commit_callbacks(execute=False):
        signed_in.post(url(invoice, "invoice-email-buyer"))
    assert mail.outbox == []
    page = signed_in.get(url(invoice, "invoice-detail")).text
    assert 'data-state="waiting"' in page
    assert 'hx-select="#buyer-documents" hx-trigger="every 2s"' in page  # the page follows it until recorded

    [request_id] = dispatched
    assert buyer_mail.invoice_email_send.apply(args=[request_id]).get() is True
    assert buyer_mail.invoice_email_send.apply(args=[request_id]).get() is False  # delivered twice by the broker
    assert len(mail.outbox) == 1
    assert 'hx-select="#buyer-documents"' not in signed_in.get(url(invoice, "invoice-detail")).text


def test_a_mail_server_that_keeps_failing_is_retried_then_recorded(
    signed_in, invoice, django_capture_on_commit_callbacks, monkeypatch
):
    dispatched, attempts = [], []
    monkeypatch.setattr(buyer_mail.invoice_email_send, "delay_on_commit", dispatched.append)

    def refuse(message, *args, **kwargs):
        attempts.append(message)
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(url(invoice, "invoice-email-buyer"))

    buyer_mail.invoice_email_send.apply(args=dispatched)

    assert len(attempts) == buyer_mail.MAX_RETRIES + 1
    assert Activity.objects.get(action=buyer_mail.FAILED).data["reason"] == "mail server down"
    assert 'data-state="failed"' in signed_in.get(url(invoice, "invoice-detail")).text


@pytest.mark.usefixtures("tasks_run_here")
def test_a_buyer_without_an_e_mail_is_explained_and_nothing_is_sent(
    signed_in, buyer, invoice, django_capture_on_commit_callbacks
):
    Buyer.objects.filter(pk=buyer.pk).update(email="")
    page = signed_in.get(url(invoice, "invoice-detail")).text
    assert 'data-testid="email-buyer"' not in page
    assert "Rossi Forniture Srl has no e-mail address in the address book." in page
    edit = reverse(
        "invoicing:buyer-edit", kwargs={"company_number": invoice.administration.company_number, "buyer_pk": buyer.pk}
    )
    assert f'href="{edit}" data-testid="buyer-record-link"' in page

    response = email_buyer(signed_in, invoice, django_capture_on_commit_callbacks)  # a page opened before

    assert "has no e-mail address in the address book" in response.text
    assert mail.outbox == []
    assert not Activity.objects.filter(action__startswith="invoice.email_").exists()


@pytest.mark.usefixtures("tasks_run_here")
def test_an_invoice_not_linked_to_the_address_book_points_to_it(signed_in, invoice, django_capture_on_commit_callbacks):
    Invoice.objects.filter(pk=invoice.pk).update(buyer=None)

    response = email_buyer(signed_in, invoice, django_capture_on_commit_callbacks)

    assert "not in the address book" in response.text
    assert (
        reverse("invoicing:buyer-list", kwargs={"company_number": invoice.administration.company_number})
        in response.text
    )
    assert mail.outbox == []


@pytest.mark.usefixtures("tasks_run_here")
def test_viewers_cannot_send_and_drafts_are_not_sent(
    client, viewer, member, invoice, django_capture_on_commit_callbacks
):
    client.force_login(viewer)
    assert client.post(url(invoice, "invoice-email-buyer")).status_code == 403

    client.force_login(member)
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.DRAFT)
    response = email_buyer(client, invoice, django_capture_on_commit_callbacks)

    assert "A draft has no PDF or UBL yet" in response.text
    assert mail.outbox == []


def test_the_buyers_record_keeps_its_e_mail_and_language(signed_in, buyer):
    edit = reverse(
        "invoicing:buyer-edit", kwargs={"company_number": buyer.administration.company_number, "buyer_pk": buyer.pk}
    )
    form = signed_in.get(edit).context["form"]
    data = {name: form[name].value() or "" for name in form.fields} | {"email": "ap@rossi.example", "language": "en"}

    signed_in.post(edit, data)

    buyer.refresh_from_db()
    assert (buyer.email, buyer.language) == ("ap@rossi.example", "en")


def test_writers_see_the_button_with_the_address_it_sends_to(signed_in, invoice):
    text = signed_in.get(url(invoice, "invoice-detail")).text

    section = text.split('data-testid="buyer-documents"')[1].split("</section>")[0]
    assert "E-mail to the buyer (fatture@rossi.example)" in section
    assert f'action="{url(invoice, "invoice-email-buyer")}"' in section
    assert 'name="csrfmiddlewaretoken"' in section


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="production's plan: SQLite's JSON lookup is a CASE no index matches"
)
def test_an_invoices_e_mails_are_found_by_the_invoice_not_by_reading_the_companys_history(
    administration, member, invoice
):
    """The invoice page lists its e-mails through clearfacts_app's activity_invoice_idx: a company
    with years of activity costs the page no more than a new one."""
    Activity.objects.bulk_create(
        Activity(
            office_id=administration.office_id,
            administration=administration,
            actor=member,
            action=action,
            data={"invoice": invoice.pk + 1 + n, "to": "x@example.be"},
        )
        for n in range(3000)
        for action in (buyer_mail.REQUESTED, "invoice.created")
    )
    buyer_mail.invoice_email_request(invoice=invoice, user=member)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE clearfacts_app_activity")

    with CaptureQueriesContext(connection) as captured:
        emails = buyer_mail.invoice_emails(invoice)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + captured.captured_queries[0]["sql"])
        plan = " ".join(str(row) for row in cursor.fetchall())

    assert "activity_invoice_idx" in plan, plan
    assert [email.to for email in emails] == ["fatture@rossi.example"]
