"""Submitting an invoice exactly once: the Submission outbox and its send task.

CONTRACT (filled in by the submission work; the views and the admin call these):
- `invoice_submit(*, invoice, user, expected_version) -> Submission`: in one transaction, with the
  invoice row locked: refuses (SubmitRefused with a message) an invoice that is not a draft, whose
  version moved on, or that invoice_problems() finds problems in; else freezes it (status
  SUBMITTING), creates the Submission (payload_bytes, SHA-256, a new uuid4 key) and dispatches the
  send after commit. A second call for the same invoice (double click, two tabs, two colleagues)
  returns the existing active Submission and creates nothing.
- `submission_send(submission_id)`: the task body (see ARCHITECTURE.md "Submitting an invoice
  exactly once").
- `submissions_sweep()`: re-dispatches sends whose task was lost; holds for a person what can no
  longer be retried safely (key older than CLEARVO_KEY_LIFETIME).
- `submission_retry(*, submission, user)`: a person sends a HELD or retrying submission again with
  the SAME key and body; `submission_release(*, submission, user)`: a person confirms Clearvo does
  not have it: the invoice returns to draft (a later submit gets a new key).
"""
