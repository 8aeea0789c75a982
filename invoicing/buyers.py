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

The address book's own pages write through `buyer_create`, `buyer_update` and `buyer_delete`, each
with its activity row. Deleting an entry changes no invoice: an invoice holds copies of the buyer's
fields, and its link to the entry is emptied.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from clearfacts_app import client, selectors
from clearfacts_app.activity import activity_record, changes_between
from clearfacts_app.models import Administration
from invoicing import identifiers
from invoicing.models import Buyer
from portal.parsing import is_number

logger = logging.getLogger(__name__)

# Buyer field → the Invoice field that holds its copy.
INVOICE_FIELDS = {
    "name": "buyer_name",
    "tax_id": "buyer_tax_id",
    "tax_id_country": "buyer_tax_id_country",
    "street": "buyer_street",
    "city": "buyer_city",
    "postal_code": "buyer_postal_code",
    "country": "buyer_country",
    "codice_fiscale": "it_codice_fiscale",
    "codice_destinatario": "it_codice_destinatario",
    "pec_destinatario": "it_pec_destinatario",
    "leitweg_id": "de_buyer_reference",
}
# Country data apply to one destination: an invoice elsewhere leaves them empty, which must not
# erase what the address book knows.
COUNTRY_DATA = ("codice_fiscale", "codice_destinatario", "pec_destinatario", "leitweg_id")


@dataclass(frozen=True)
class Suggestion:
    key: str  # "buyer:<pk>" or "customer:<Clearfacts id>"
    name: str
    tax_id: str = ""
    city: str = ""
    from_clearfacts: bool = False


def vat_number_split(value: str) -> tuple[str, str]:
    """("IT", "01234567890") for "IT 012 345 678 90"; ("", value compacted) without a country prefix."""
    compacted = "".join(character for character in value or "" if character.isalnum()).upper()
    prefix = compacted[:2]
    if len(compacted) > 2 and prefix.isalpha():
        country = {prefix: iso for iso, prefix in identifiers.VAT_PREFIXES.items()}.get(prefix, prefix)
        return country, identifiers.compact_tax_id(compacted, country)
    return "", compacted


def _tax_id_matches(query: str) -> Q:
    needle = "".join(character for character in query if character.isalnum()).upper()
    if len(needle) < 2:
        return Q(pk__in=[])
    matches = Q(tax_id__icontains=needle)
    country, number = vat_number_split(needle)
    if country and number:
        matches |= Q(tax_id_country__iexact=country, tax_id__icontains=number)
    return matches


def buyer_search(buyers, query: str):
    """Entries of `buyers` whose name, tax id (with or without its country prefix) or city holds `query`."""
    query = query.strip()
    if not query:
        return buyers
    return buyers.filter(Q(name__icontains=query) | Q(city__icontains=query) | _tax_id_matches(query))


def _clearfacts_customers(*, user, administration: Administration) -> list[dict]:
    """The administration's Clearfacts customers (cached), or none when Clearfacts cannot say."""
    credential = getattr(user, "clearfacts_credential", None)
    if credential is None or not credential.has_scope("contact_read"):
        return []
    try:
        return selectors.customers_read(user=user, administration=administration)[0]
    except client.ClearfactsError as error:
        logger.info("No Clearfacts customers for suggestions (%s)", error.__class__.__name__)
        return []


def buyer_suggestions(*, user, administration, query: str, limit: int = 10) -> list[Suggestion]:
    """Entries matching `query` by name, tax id or city (as the address book's own search), then
    Clearfacts customers matching it that the address book does not hold already. An empty query
    suggests address book entries only."""
    query = query.strip()
    entries = buyer_search(administration.buyers.all(), query)
    suggestions = [
        Suggestion(f"buyer:{entry.pk}", entry.name, _shown_tax_id(entry.tax_id_country, entry.tax_id), entry.city)
        for entry in entries[:limit]
    ]
    if not query or len(suggestions) >= limit:
        return suggestions
    known_customers = set(
        administration.buyers.exclude(clearfacts_customer_id="").values_list("clearfacts_customer_id", flat=True)
    )
    known = {(s.name.casefold(), s.city.casefold()) for s in suggestions}
    needle, tax_needle = query.casefold(), "".join(c for c in query if c.isalnum()).upper()
    for customer in _clearfacts_customers(user=user, administration=administration):
        name, vat, city = customer.get("name") or "", customer.get("vatNumber") or "", customer.get("city") or ""
        compact_vat = "".join(c for c in vat if c.isalnum()).upper()
        in_vat = len(tax_needle) >= 2 and tax_needle in compact_vat
        if needle not in name.casefold() and needle not in city.casefold() and not in_vat:
            continue
        if str(customer["id"]) in known_customers or (name.casefold(), city.casefold()) in known:
            continue
        suggestions.append(Suggestion(f"customer:{customer['id']}", name, vat, city, from_clearfacts=True))
        if len(suggestions) >= limit:
            break
    return suggestions


def _shown_tax_id(country: str, tax_id: str) -> str:
    return f"{country} {tax_id}".strip() if tax_id else ""


def _entry_fields(entry: Buyer) -> dict:
    return {"buyer": entry} | {invoice_field: getattr(entry, field) for field, invoice_field in INVOICE_FIELDS.items()}


def buyer_fields(key: str, *, user, administration) -> dict | None:
    kind, _, ident = (key or "").partition(":")
    if kind == "buyer":
        entry = administration.buyers.filter(pk=int(ident)).first() if is_number(ident) else None
        return _entry_fields(entry) if entry else None
    if kind != "customer" or not ident:
        return None
    remembered = administration.buyers.filter(clearfacts_customer_id=ident).first()
    if remembered:
        return _entry_fields(remembered)
    customer = next(
        (c for c in _clearfacts_customers(user=user, administration=administration) if str(c.get("id")) == ident),
        None,
    )
    if customer is None:
        return None
    country, tax_id = vat_number_split(customer.get("vatNumber") or "")
    fields = {"buyer": None} | dict.fromkeys(INVOICE_FIELDS.values(), "")
    return fields | {
        "buyer_name": customer.get("name") or "",
        "buyer_tax_id": tax_id,
        "buyer_tax_id_country": country,
        "buyer_city": customer.get("city") or "",
        # Clearfacts gives no address country: the VAT number's is the likeliest, and the user sees it.
        "buyer_country": (customer.get("country") or country or "").upper(),
    }


def _remembered(invoice) -> Buyer | None:
    entries = invoice.administration.buyers.all()
    if invoice.buyer_tax_id:
        found = entries.filter(
            tax_id__iexact=invoice.buyer_tax_id, tax_id_country__iexact=invoice.buyer_tax_id_country
        ).first()
        if found:
            return found
        # An entry with another tax id is another buyer, whatever its name.
        entries = entries.filter(tax_id="")
    return entries.filter(name__iexact=invoice.buyer_name.strip(), city__iexact=invoice.buyer_city.strip()).first()


def buyer_remember(invoice) -> None:
    """Finds the entry by tax id and its country, else by name and city (case-insensitive); updates
    it from the invoice or creates it, and links the invoice to it (saved too when the invoice is)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("buyer_remember must run inside the transaction that saves the invoice")
    # One at a time per administration, so that two invoices to a new buyer make one entry.
    Administration.objects.select_for_update().filter(pk=invoice.administration_id).first()
    entry = _remembered(invoice) or Buyer(administration=invoice.administration)
    for field, invoice_field in INVOICE_FIELDS.items():
        value = (getattr(invoice, invoice_field) or "").strip()
        if value or field not in COUNTRY_DATA:
            setattr(entry, field, value)
    entry.save()
    invoice.buyer = entry
    if invoice.pk:
        type(invoice).objects.filter(pk=invoice.pk).update(buyer=entry)


def buyer_create(*, administration: Administration, actor, buyer: Buyer) -> Buyer:
    with transaction.atomic():
        buyer.administration = administration
        buyer.save()
        activity_record(
            administration=administration,
            actor=actor,
            action="buyer.created",
            data={"buyer": buyer.pk, "name": buyer.name},
        )
    return buyer


def buyer_update(*, buyer: Buyer, actor) -> Buyer:
    with transaction.atomic():
        before = Buyer.objects.select_for_update().get(pk=buyer.pk, administration=buyer.administration_id)
        changed = [field for field in INVOICE_FIELDS if getattr(buyer, field) != getattr(before, field)]
        buyer.save()
        activity_record(
            administration=buyer.administration,
            actor=actor,
            action="buyer.changed",
            data={"buyer": buyer.pk, "name": buyer.name, "fields": changed},
            changes=changes_between(before, buyer, changed),
        )
    return buyer


def buyer_delete(*, buyer: Buyer, actor) -> None:
    """Removes the entry; invoices keep their copies of its fields (their link is emptied)."""
    with transaction.atomic():
        data = {"buyer": buyer.pk, "name": buyer.name, "invoices": buyer.invoices.count()}
        buyer.delete()
        activity_record(administration=buyer.administration, actor=actor, action="buyer.deleted", data=data)
