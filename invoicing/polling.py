"""Following submissions until the authority decides: claiming due ones in batches, storing events.

CONTRACT (filled in by the polling work):
- `submissions_poll_due(*, batch=100) -> int`: claims sent, non-terminal submissions whose
  next_poll_at has come (select_for_update(skip_locked=True) where the database has it), polls
  each, returns how many it polled. Its cost follows the number due, not the number stored.
- `submission_poll(submission) -> None`: one GET /invoices/status; stores new ClearanceEvents once,
  the status, terminal, clearedAt/rejectedAt/error/mcDeadline, next_poll_at from nextPollAfter
  (or Retry-After), and moves the invoice's status along (Invoice.Status mirrors clearance).
"""
