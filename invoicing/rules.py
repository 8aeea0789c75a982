"""The checks that mirror Clearvo's 400 and 422 rules, run before anything is sent.

CONTRACT (filled in by the rules work; the form and, later, the submission call these):
- `invoice_problems(invoice, lines)` takes an Invoice and its InvoiceLines (saved or not, the
  supplier fields already copied from the profile) and returns every Problem, in field order.
- A Problem names a model field: of Invoice when `line` is None, else of the InvoiceLine at index
  `line` of `lines`. `field` "__all__" is a problem of the whole invoice (or line).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    line: int | None = None


def invoice_problems(invoice, lines) -> list[Problem]:
    return []
