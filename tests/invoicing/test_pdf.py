"""The invoice's PDF (invoicing.pdf): it opens, and reads like the preview in the reader's language."""

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from invoicing.models import Invoice
from invoicing.pdf import invoice_pdf, pdf_filename
from tests.factories import make_invoice
from tests.invoicing.clearance_helpers import Clearance, make_submission
from tests.invoicing.editor_helpers import IBAN, complete_profile, form_data

pytestmark = pytest.mark.django_db


def text_of(data: bytes) -> str:
    """The PDF's text with every kind of space made one plain space (fr groups digits with a no-break space)."""
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"[ \u00a0\u202f]+", " ", text)


@pytest.fixture
def invoice(administration, member):
    complete_profile(administration)
    return make_invoice(
        administration,
        member,
        invoice_number="2026-0042",
        issue_date=date(2026, 3, 2),
        due_date=date(2026, 4, 1),
        country="PL",
        supplier_name="Bakkerij Janssens BV",
        supplier_tax_id="0403170701",
        supplier_tax_id_country="BE",
        supplier_city="Gent",
        supplier_country="BE",
        buyer_name="Zakład Łódź Spółka z o.o.",
        buyer_tax_id="5260250274",
        buyer_tax_id_country="PL",
        buyer_city="Łódź",
        buyer_country="PL",
        iban=IBAN,
        payment_reference="+++090/9337/55493+++",
        lines=((Decimal("1500"), Decimal("2.50"), "S"),),
        status=Invoice.Status.PENDING,
    )


@pytest.mark.parametrize(
    ("language", "title", "total", "issued"),
    [
        ("en", "Invoice 2026-0042", "4,612.50 EUR", "2 March 2026"),
        ("nl", "Factuur 2026-0042", "4.612,50 EUR", "2 maart 2026"),
        ("fr", "Facture 2026-0042", "4 612,50 EUR", "2 mars 2026"),
    ],
)
def test_the_pdf_opens_and_shows_number_buyer_and_totals_in_its_language(invoice, language, title, total, issued):
    text = text_of(invoice_pdf(invoice, language=language))

    assert title in text
    assert "Zakład Łódź Spółka z o.o." in text  # beyond Latin-1: the embedded font has the glyphs
    assert "3,750.00" in text if language == "en" else "3.750,00" in text or "3 750,00" in text
    assert total in text  # 1500 × 2.50 + 23 % VAT
    assert issued in text
    assert "BE71 0961 2345 6769" in text and "+++090/9337/55493+++" in text


def test_the_invoice_language_is_the_default(invoice):
    invoice.language = "fr"

    assert "Facture 2026-0042" in text_of(invoice_pdf(invoice))


def test_a_credit_note_says_so_and_names_the_original_invoice(invoice, administration, member):
    note = make_invoice(
        administration,
        member,
        invoice_number="CN-7",
        document_type=Invoice.DocumentType.CREDIT_NOTE,
        original_invoice=invoice,
        status=Invoice.Status.ACCEPTED,
    )

    text = text_of(invoice_pdf(note, language="nl"))

    assert "Creditnota CN-7" in text
    assert "2026-0042 · 2 maart 2026" in text
    assert pdf_filename(note) == "credit-note-CN-7.pdf"


def test_the_ksef_number_appears_once_the_authority_accepted(invoice, member):
    assert "KSeF" not in text_of(invoice_pdf(invoice, language="en"))

    make_submission(
        invoice,
        member,
        clearance_status=Clearance.ACCEPTED,
        terminal=True,
        events=[
            ("ACCEPTED", datetime(2026, 3, 3, 9, tzinfo=UTC), "Accepted by KSeF", {"kSeFNumber": "5260250274-X-1"})
        ],
    )

    assert "KSeF number 5260250274-X-1" in text_of(invoice_pdf(invoice, language="en"))


def test_the_same_invoice_gives_the_same_bytes(invoice):
    assert invoice_pdf(invoice, language="en") == invoice_pdf(invoice, language="en")


def test_the_filename_is_ascii_whatever_the_number(invoice):
    invoice.invoice_number = "FV/2026/ż 1"

    assert pdf_filename(invoice) == "invoice-FV-2026---1.pdf"


# The language the PDF is written in is chosen in the editor.


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_a_new_invoice_is_in_its_authors_language_until_they_choose(client, member, administration, language):
    complete_profile(administration)
    client.force_login(member)
    new = f"/administrations/{administration.company_number}/invoices/new/"

    response = client.get(new, HTTP_ACCEPT_LANGUAGE=language)

    assert response.context["form"]["language"].value() == language
    assert 'name="language"' in response.text


def test_the_editor_saves_the_chosen_language(client, member, administration):
    complete_profile(administration)
    client.force_login(member)
    new = f"/administrations/{administration.company_number}/invoices/new/"

    client.post(new, form_data(language="fr"))

    assert Invoice.objects.get().language == "fr"
