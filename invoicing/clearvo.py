"""The portal's one Clearvo client: one session, explicit timeouts, typed errors, answers checked.

CONTRACT (filled in by the submission work; the poller and the views call it):
- `client_for(office) -> Clearvo`: the office's key (ClearvoAccount) or the platform default
  (settings.CLEARVO_API_KEY); raises NotConfigured when there is neither.
- `Clearvo.submit(body: bytes, *, idempotency_key: str, entity_id: str, record) -> SubmitAnswer`
  POSTs the exact bytes; `Clearvo.status(*, country, reference_id, record) -> StatusAnswer` GETs
  the status. `record(exchange_fields: dict)` is called once per HTTP exchange (method, path,
  started_at, duration_ms, status_code (0 when no answer), response_body, transport_error) so
  that the caller stores it as an Exchange row.
- Errors (ClearvoError subclasses, each with `retryable` and, where Clearvo said, `retry_after`
  seconds): Unavailable (connection refused before sending, 502/503/504, 429; retryable),
  OutcomeUnknown (the request may have been processed: timeout after sending, dropped connection,
  500, a 2xx body that is not the promised JSON; retryable ONLY with the same key),
  Invalid (400/422; `violations` = [{"field", "message"}]), Conflict (409), NotAuthorized (401),
  AnswerInvalid (a status answer not in the promised shape; retryable).
"""
