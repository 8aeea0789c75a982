"""The invoice as the buyer reads it, as a PDF (a library installed from wheels alone).

CONTRACT (filled in by the PDF work):
- `invoice_pdf(invoice, *, language: str | None = None) -> bytes`: the same content as the
  invoice page's preview (supplier and buyer, lines, VAT per rate, totals, payment details and
  structured reference, the authority's reference such as the KSeF number once known), for
  invoices, credit notes and debit notes, in `language` (default: the invoice's `language`),
  with amounts and dates formatted for that language.
- `pdf_filename(invoice) -> str`.
"""


def invoice_pdf(invoice, *, language: str | None = None) -> bytes:
    raise NotImplementedError


def pdf_filename(invoice) -> str:
    raise NotImplementedError
