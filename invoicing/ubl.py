"""The Peppol BIS Billing 3.0 UBL of an invoice: one mapping module, from the same data as the payload.

CONTRACT (filled in by the UBL work):
- `invoice_ubl(invoice) -> bytes`: a UBL 2.1 Invoice (invoices and debit notes, type codes 380 and
  383) or CreditNote (credit notes, 381) following Peppol BIS Billing 3.0, UTF-8, with the
  invoice's PDF (`invoicing.pdf.invoice_pdf`, in the invoice's language) embedded as an
  AdditionalDocumentReference. Built from the frozen invoice (supplier_* and buyer_* copies, its
  lines, `invoicing.totals`), like `invoicing.payload`.
- `UBL_CONTENT_TYPE`, `ubl_filename(invoice) -> str`: what a download or an upload calls it.
Each business rule it satisfies has a test naming the EN16931 (BR-*) or PEPPOL-EN16931-* rule id
(tests/invoicing/test_ubl.py).
"""

UBL_CONTENT_TYPE = "application/xml"


def invoice_ubl(invoice) -> bytes:
    raise NotImplementedError


def ubl_filename(invoice) -> str:
    raise NotImplementedError
