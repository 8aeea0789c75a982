"""The invoice as the buyer reads it, as a PDF (fpdf2: pure Python, installed from wheels alone).

CONTRACT:
- `invoice_pdf(invoice, *, language: str | None = None) -> bytes`: the same content as the
  invoice page's preview (supplier and buyer, lines, VAT per rate, totals, payment details and
  structured reference, the authority's reference such as the KSeF number once known), for
  invoices, credit notes and debit notes, in `language` (default: the invoice's `language`),
  with amounts and dates formatted for that language.
- `pdf_filename(invoice) -> str`.

The same invoice in the same state gives the same bytes (its creation date is the invoice's, and
fpdf2's file id is a hash of the content), so a UBL that embeds it does not change between builds.
The text is set in DejaVu Sans (invoicing/fonts/, Bitstream Vera licence): fpdf2's core fonts
are Latin-1 only, and buyers' names are Polish, Hungarian, Romanian...
"""

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import formats, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django_countries import countries
from fpdf import FPDF
from fpdf.fonts import FontFace

from invoicing import identifiers, rates, totals
from invoicing.models import ClearanceEvent, Invoice

CONTENT_TYPE = "application/pdf"
FONTS = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
GREY = (90, 90, 90)
RULE = (200, 200, 200)
LINE_HEIGHT = 5


def invoice_pdf(invoice: Invoice, *, language: str | None = None) -> bytes:
    language = _spoken(language or invoice.language)
    with translation.override(language):
        return bytes(_Document(invoice, language).render())


def pdf_filename(invoice: Invoice) -> str:
    """ "invoice-2026-0001.pdf" (credit-note-…, debit-note-…): ASCII, whatever the number holds."""
    kind = invoice.document_type.replace("_", "-")
    number = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in invoice.invoice_number)
    return f"{kind}-{number or invoice.pk}.pdf"


def authority_reference(invoice: Invoice) -> str:
    """The authority's number for the accepted invoice (KSeF's, for Poland); "" until it is known."""
    events = ClearanceEvent.objects.filter(submission__invoice=invoice, status="ACCEPTED").order_by("-at", "-pk")
    return next((str(event.extra["kSeFNumber"]) for event in events if (event.extra or {}).get("kSeFNumber")), "")


def _spoken(language: str) -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    return language if language in codes else settings.LANGUAGE_CODE


def amount_shown(value: Decimal | None, decimals: int = 2) -> str:
    if value is None:
        return "—"
    return formats.number_format(value, decimals, use_l10n=True, force_grouping=True)


def number_shown(value: Decimal, decimals: int = 0) -> str:
    """A quantity or price with no trailing zeros, but at least `decimals` places: "1", "2,5", "99,90"."""
    value = value.normalize()
    places = max(-value.as_tuple().exponent, decimals)
    return formats.number_format(value, places, use_l10n=True, force_grouping=True)


def date_shown(value) -> str:
    return formats.date_format(value, "DATE_FORMAT") if value else ""


def country_shown(code: str) -> str:
    return countries.name((code or "").upper()) or code


@dataclass
class _Party:
    heading: str
    name: str
    lines: list[str]


class _Document:
    """One rendering, with the reader's language active."""

    def __init__(self, invoice: Invoice, language: str):
        self.invoice = invoice
        self.language = language
        self.lines = list(invoice.lines.all())
        self.totals = totals.compute(invoice.country, self.lines)
        self.pdf = _Pdf(footer=_("Page %(number)s of %(total)s") % {"number": "{page}", "total": "{nb}"})

    def render(self) -> bytearray:
        invoice, pdf = self.invoice, self.pdf
        title = f"{invoice.get_document_type_display()} {invoice.invoice_number}"
        pdf.set_title(title)
        pdf.set_author(invoice.supplier_name)
        pdf.set_lang(self.language)
        pdf.set_creator("Clearfacts portal")
        pdf.set_creation_date(invoice.created_at)
        pdf.add_page()
        pdf.set_font(FONT, "B", 18)
        pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        self._parties()
        self._details()
        self._lines()
        self._totals()
        self._payment()
        self._for_the_authority()
        return pdf.output()

    def _parties(self) -> None:
        invoice, pdf = self.invoice, self.pdf
        supplier = _Party(
            _("Supplier"),
            invoice.supplier_name,
            [
                invoice.supplier_street,
                f"{invoice.supplier_postal_code} {invoice.supplier_city}".strip(),
                country_shown(invoice.supplier_country),
                f"{_('VAT')} {identifiers.tax_id_shown(invoice.supplier_tax_id, invoice.supplier_tax_id_country)}"
                if invoice.supplier_tax_id
                else "",
            ],
        )
        buyer = _Party(
            _("Buyer"),
            invoice.buyer_name,
            [
                invoice.buyer_street,
                f"{invoice.buyer_postal_code} {invoice.buyer_city}".strip(),
                country_shown(invoice.buyer_country),
                f"{capfirst(_('VAT or tax number'))} {invoice.buyer_tax_id_country}{invoice.buyer_tax_id}"
                if invoice.buyer_tax_id
                else "",
            ],
        )
        width = (pdf.epw - 10) / 2
        top = pdf.get_y()
        bottoms = []
        for column, party in enumerate((supplier, buyer)):
            pdf.set_xy(pdf.l_margin + column * (width + 10), top)
            pdf.set_font(FONT, "", 9)
            pdf.set_text_color(*GREY)
            pdf.cell(width, LINE_HEIGHT, party.heading, new_x="LEFT", new_y="NEXT")
            pdf.set_text_color(0)
            pdf.set_font(FONT, "B", 11)
            pdf.multi_cell(width, 6, party.name, new_x="LEFT", new_y="NEXT")
            pdf.set_font(FONT, "", 10)
            for text in filter(None, party.lines):
                pdf.multi_cell(width, LINE_HEIGHT, text, new_x="LEFT", new_y="NEXT")
            bottoms.append(pdf.get_y())
        pdf.set_xy(pdf.l_margin, max(bottoms) + 6)

    def _details(self) -> None:
        invoice = self.invoice
        rows = [(_("Issue date"), date_shown(invoice.issue_date))]
        if invoice.tax_point_date:
            rows.append((_("VAT point date"), date_shown(invoice.tax_point_date)))
        if invoice.due_date:
            rows.append((_("Due date"), date_shown(invoice.due_date)))
        if invoice.original_invoice_id:
            original = invoice.original_invoice
            rows.append((_("Original invoice"), f"{original.invoice_number} · {date_shown(original.issue_date)}"))
        if invoice.customer_reference:
            rows.append((_("Your reference"), invoice.customer_reference))
        reference = authority_reference(invoice)
        if reference:
            rows.append((_("KSeF number"), reference))
        self._pairs(rows)
        self.pdf.ln(4)

    def _pairs(self, rows: list[tuple[str, str]]) -> None:
        pdf = self.pdf
        for label, value in rows:
            pdf.set_font(FONT, "", 9)
            pdf.set_text_color(*GREY)
            pdf.cell(50, LINE_HEIGHT, label)
            pdf.set_text_color(0)
            pdf.set_font(FONT, "", 10)
            pdf.multi_cell(0, LINE_HEIGHT, value, new_x="LMARGIN", new_y="NEXT")

    def _lines(self) -> None:
        pdf = self.pdf
        pdf.set_font(FONT, "", 9)
        heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
        with pdf.table(
            col_widths=(54, 20, 18, 30, 22, 30),
            text_align=("LEFT", "RIGHT", "LEFT", "RIGHT", "LEFT", "RIGHT"),
            headings_style=heading,
            borders_layout="HORIZONTAL_LINES",
            line_height=LINE_HEIGHT,
            padding=1.2,
        ) as table:
            table.row([_("Description"), _("Quantity"), _("Unit"), _("Unit price"), _("VAT"), _("Amount")])
            for line, amount in zip(self.lines, self.totals.lines, strict=True):
                description = line.description
                if line.exemption_reason:
                    description = f"{description}\n{line.exemption_reason}"
                table.row(
                    [
                        description,
                        number_shown(line.quantity),
                        line.unit,
                        number_shown(line.unit_price, 2),
                        self._vat(line.tax_code),
                        amount_shown(amount),
                    ]
                )
        pdf.ln(4)

    def _vat(self, tax_code: str) -> str:
        rate = rates.rate_for(self.invoice.country, tax_code)
        return tax_code if rate is None else f"{tax_code} · {number_shown(rate)}\u00a0%"

    def _totals(self) -> None:
        invoice, pdf, computed = self.invoice, self.pdf, self.totals
        currency = invoice.currency
        rows = [(_("Total excluding VAT"), amount_shown(computed.net), "")]
        for group in computed.groups:
            label = _("VAT %(code)s at %(rate)s %% on %(taxable)s") % {
                "code": group.tax_code,
                "rate": number_shown(group.rate),
                "taxable": amount_shown(group.taxable),
            }
            rows.append((label, amount_shown(group.vat), ""))
        rows.append((_("VAT"), amount_shown(computed.vat), ""))
        rows.append((_("Total"), amount_shown(computed.gross), "B"))
        label_width, amount_width = 70, 40
        for label, amount, style in rows:
            pdf.set_x(pdf.l_margin + pdf.epw - label_width - amount_width)
            pdf.set_font(FONT, style, 11 if style else 9)
            pdf.cell(label_width, 6, label)
            pdf.cell(amount_width, 6, f"{amount} {currency}", align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.set_font(FONT, "", 7.5)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(
            0,
            4,
            _(
                "These totals are the portal's calculation. The tax authority computes the VAT itself from each "
                "country's rates; where the two differ, its computation prevails."
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_text_color(0)
        pdf.ln(4)

    def _payment(self) -> None:
        invoice = self.invoice
        if not (invoice.iban or invoice.payment_reference):
            return
        rows = [(_("Payment means"), invoice.get_payment_means_display())]
        if invoice.iban:
            rows.append((_("IBAN"), identifiers.iban_shown(invoice.iban)))
        if invoice.bic:
            rows.append((_("BIC"), invoice.bic))
        if invoice.payment_reference:
            rows.append((_("Payment reference"), invoice.payment_reference))
        self._section(_("Payment"), rows)

    def _for_the_authority(self) -> None:
        invoice = self.invoice
        rows = [
            (label, value)
            for label, value in (
                (_("Codice destinatario"), invoice.it_codice_destinatario),
                (capfirst(_("PEC address")), invoice.it_pec_destinatario),
                (_("Codice fiscale"), invoice.it_codice_fiscale),
                (_("Leitweg-ID (buyer reference)"), invoice.de_buyer_reference),
            )
            if value
        ]
        if rows:
            self._section(_("For the authority"), rows)

    def _section(self, heading: str, rows: list[tuple[str, str]]) -> None:
        pdf = self.pdf
        pdf.set_font(FONT, "B", 10)
        pdf.cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
        self._pairs(rows)
        pdf.ln(3)


class _Pdf(FPDF):
    def __init__(self, *, footer: str):
        super().__init__(format="A4", unit="mm")
        self.footer_text = footer
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)
        self.add_font(FONT, "", FONTS / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONTS / "DejaVuSans-Bold.ttf")
        self.set_draw_color(*RULE)

    def footer(self):
        self.set_y(-12)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*GREY)
        text = self.footer_text.replace("{page}", str(self.page_no()))
        self.cell(0, 5, text, align="C")
        self.set_text_color(0)
