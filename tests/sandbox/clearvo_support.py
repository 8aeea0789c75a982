"""Helpers (no tests) for the Clearvo sandbox tests: the spec's examples, payloads, an HTTP client, time travel."""

import copy
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import requests

from sandbox.clearvo.models import InvoiceEvent, InvoiceSubmission

# The spec's example Partita IVA numbers fail their check digit; these pass stdnum.it.iva.
VALID_SUPPLIER_IVA = "01234560157"
VALID_BUYER_IVA = "09876540585"
SPEC_IDEMPOTENCY_KEY = "a3f9c2d1-e847-4b6a-9c12-d3f0e1a2b7c8"
ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
REQUEST_ID = re.compile(r"req_[0-9A-Z]{26}")

# The quickstart's curl -d body, as printed in clearvo-api.txt.
QUICKSTART_BODY = """{
"documentType": "invoice",
"invoiceNumber": "INV-2024-001",
"issueDate": "2024-01-15",
"currency": "EUR",
"country": "IT",
"supplier": {
"name": "Acme SRL",
"taxId": "01234567890",
"taxIdCountry": "IT",
"address": { "street": "Via Roma 1", "city": "Milano", "postalCode": "20121", "country": "IT" }
},
"buyer": {
"name": "Cliente SpA",
"taxId": "09876543210",
"taxIdCountry": "IT",
"address": { "street": "Via Veneto 10", "city": "Roma", "postalCode": "00187", "country": "IT" }
},
"lines": [
{ "description": "Software licence Q1", "quantity": 1, "unitPrice": 1000.00, "taxCode": "S" },
{ "description": "Support hours", "quantity": 8, "unitPrice": 125.00, "taxCode": "S" }
]
}"""

# The Node.js example's body as JSON.stringify sends it (1000.00 becomes 1000).
NODE_EXAMPLE_BODY = json.dumps(
    {
        "documentType": "invoice",
        "invoiceNumber": "INV-2024-001",
        "issueDate": "2024-01-15",
        "currency": "EUR",
        "country": "IT",
        "supplier": {
            "name": "Acme SRL",
            "taxId": "01234567890",
            "taxIdCountry": "IT",
            "address": {"street": "Via Roma 1", "city": "Milano", "postalCode": "20121", "country": "IT"},
        },
        "buyer": {
            "name": "Cliente SpA",
            "taxId": "09876543210",
            "taxIdCountry": "IT",
            "address": {"street": "Via Veneto 10", "city": "Roma", "postalCode": "00187", "country": "IT"},
        },
        "lines": [
            {"description": "Software licence Q1", "quantity": 1, "unitPrice": 1000, "taxCode": "S"},
            {"description": "Support hours", "quantity": 8, "unitPrice": 125, "taxCode": "S"},
        ],
    },
    separators=(",", ":"),
)


def with_valid_italian_ids(body: str) -> str:
    return body.replace("01234567890", VALID_SUPPLIER_IVA).replace("09876543210", VALID_BUYER_IVA)


def italian_invoice(number: str = "INV-2024-001") -> dict:
    payload = json.loads(with_valid_italian_ids(NODE_EXAMPLE_BODY))
    payload["invoiceNumber"] = number
    return payload


PARTIES = {
    "IT": (("Acme SRL", VALID_SUPPLIER_IVA, "Milano"), ("Cliente SpA", VALID_BUYER_IVA, "Roma")),
    "PL": (("Dostawca Sp. z o.o.", "1234563218", "Warszawa"), ("Nabywca S.A.", "5260250274", "Kraków")),
    "ES": (("Proveedor SL", "B12345674", "Madrid"), ("Cliente SA", "A58818501", "Barcelona")),
    "PT": (("Fornecedor Lda", "501964843", "Lisboa"), ("Cliente SA", "500100144", "Porto")),
    "FR": (("Fournisseur SARL", "40303265045", "Paris"), ("Client SA", "44732829320", "Lyon")),
    "DE": (("Lieferant GmbH", "136695976", "Berlin"), ("Kunde AG", "811569869", "München")),
    "RO": (("Furnizor SRL", "18547290", "București"), ("Client SA", "14399840", "Cluj-Napoca")),
    "HU": (("Szállító Kft.", "12892312", "Budapest"), ("Vevő Zrt.", "10597190", "Debrecen")),
}
CURRENCIES = {"PL": "PLN"}


def invoice(country: str, number: str = "INV-2024-001", **fields) -> dict:
    """A valid domestic invoice for `country`."""
    supplier, buyer = PARTIES[country]

    def party(name, tax_id, city):
        return {"name": name, "taxId": tax_id, "taxIdCountry": country, "address": {"city": city, "country": country}}

    payload = {
        "documentType": "invoice",
        "invoiceNumber": number,
        "issueDate": "2024-01-15",
        "currency": CURRENCIES.get(country, "EUR"),
        "country": country,
        "supplier": party(*supplier),
        "buyer": party(*buyer),
        "lines": [{"description": "Consulting", "quantity": 2, "unitPrice": 150.5, "taxCode": "S"}],
    }
    payload.update(fields)
    return payload


def changed(payload: dict, path: str, value) -> dict:
    """A copy of `payload` with the dotted `path` (lines[0].taxCode) set to `value`, or removed for DELETE."""
    result = copy.deepcopy(payload)
    keys = [int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", path)]
    target = result
    for key in keys[:-1]:
        target = target[key]
    if value is DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return result


class _Delete:
    """Marks a field to leave out of the body; named, so test ids are the same in every process (xdist)."""

    def __repr__(self):
        return "DELETE"


DELETE = _Delete()


class Clearvo:
    """A small client for the sandbox, over a real socket."""

    def __init__(self, base_url: str, api_key: str):
        self.base_url = base_url
        self.api_key = api_key
        self.session = requests.Session()

    def headers(self, **extra) -> dict:
        return {"x-api-key": self.api_key, **extra}

    def post(self, payload=None, *, key: str | None = None, body: str | None = None, headers=None, timeout=10):
        all_headers = self.headers(**{"x-idempotency-key": key or str(uuid.uuid4())}, **(headers or {}))
        all_headers.setdefault("Content-Type", "application/json")
        data = body if body is not None else json.dumps(payload)
        return self.session.post(f"{self.base_url}/invoices", data=data.encode(), headers=all_headers, timeout=timeout)

    def submit(self, payload: dict, **kwargs) -> dict:
        response = self.post(payload, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def status(self, reference_id: str, country: str, *, api_key: str | None = None):
        return self.session.get(
            f"{self.base_url}/invoices/status",
            params={"country": country, "id": reference_id},
            headers={"x-api-key": api_key or self.api_key},
            timeout=10,
        )

    def poll(self, reference_id: str, country: str) -> dict:
        response = self.status(reference_id, country)
        assert response.status_code == 200, response.text
        return response.json()


def parse_iso(value: str) -> datetime:
    assert ISO_Z.fullmatch(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def travel(reference_id: str, delta: timedelta) -> None:
    """Makes `delta` pass for one invoice, by moving its stored times into the past."""
    invoice = InvoiceSubmission.objects.get(reference_id=reference_id)
    for field in ("submitted_at", "decided_at", "next_poll_after", "cleared_at", "rejected_at", "mc_deadline"):
        if getattr(invoice, field) is not None:
            setattr(invoice, field, getattr(invoice, field) - delta)
    invoice.save()
    for event in InvoiceEvent.objects.filter(invoice=invoice):
        event.at -= delta
        event.save(update_fields=["at"])


def violations(response) -> list[tuple[str, str]]:
    return [(violation["field"], violation["message"]) for violation in response.json()["error"]["violations"]]
