"""The buyers' address book: suggestions for the invoice form, and remembering buyers as invoices are written.

CONTRACT (filled in by the address-book work; the invoice editor calls these):
- `buyer_suggestions(user=, administration=, query=, limit=10)` → list of Suggestion, address book
  entries first, then the administration's Clearfacts customers (read through the cached selector;
  when Clearfacts cannot answer, only the address book).
- `buyer_fields(key, user=, administration=)` → the Invoice's buyer field values (`buyer`,
  `buyer_name`, `buyer_tax_id`, ..., `it_codice_destinatario`, `de_buyer_reference`) for a
  Suggestion key, or None when the key names nothing of this administration (ids are looked up
  through the administration, never by primary key alone).
- `buyer_remember(invoice)` → creates or updates the address book entry from the invoice's buyer
  fields and links it (`invoice.buyer`); call it inside the transaction that saves the invoice.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Suggestion:
    key: str  # "buyer:<pk>" or "customer:<Clearfacts id>"
    name: str
    tax_id: str = ""
    city: str = ""
    from_clearfacts: bool = False


def buyer_suggestions(*, user, administration, query: str, limit: int = 10) -> list[Suggestion]:
    return []


def buyer_fields(key: str, *, user, administration) -> dict | None:
    return None


def buyer_remember(invoice) -> None:
    return None
