"""Telling people how their submissions ended: e-mail to the author and the submitter.

CONTRACT (filled in by the notifications work; the outbox and the poller call it):
- `submission_outcome_notify(submission_id: int) -> None`: call it with
  `transaction.on_commit(lambda: ...)` when a submission is refused at submission (400/422), held
  for a person, or reaches a terminal clearance status (ACCEPTED, REJECTED, DUPLICATE) or
  UNDELIVERED. It sends (through a Celery task) one e-mail per person who wants it, in their
  language, at most once per submission and outcome.
"""


def submission_outcome_notify(submission_id: int) -> None:
    return None
