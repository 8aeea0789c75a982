"""Accepted sales invoices into the accountant's books: the UBL to the Clearfacts inbox as a SALE document.

CONTRACT (filled in by the books work):
- `book_filings_request(invoice_ids, *, requested_by=None) -> list[int]`: called inside the
  transaction that records ACCEPTED (the poller's write, an immediately accepted submission) and
  by the list action for invoices accepted before: writes one BookFiling per invoice
  (bulk, ignore_conflicts: the OneToOne on invoice keeps it to one, whatever repeats) when the
  administration's InvoicingProfile.file_in_books is on, and dispatches the preparing task on
  commit. Returns the ids of the filings it created.
- `book_filing_prepare(filing_id) -> str` (in the task): under the filing's row lock, builds the
  UBL (invoicing.ubl), creates the SALE Document of the inbox through
  clearfacts_app.documents.document_create (the same lease, sweeper and "held when the outcome is
  unknown" rules), links it and marks the filing HANDED_OVER in the same transaction; a filing
  already handed over is left alone. Uploaded as the person who submitted the invoice.
- `book_filings_sweep() -> int` (periodic): dispatches again PENDING filings whose task was lost.
"""
