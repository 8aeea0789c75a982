"""The one function that turns an invoice into Clearvo's POST /invoices body.

CONTRACT (filled in by the payload work): `invoice_payload(invoice)` returns the body as a dict in
the order of the specification's request-body table; `payload_bytes(invoice)` returns the exact
bytes a submission sends (and the preview shows). The preview and the submission both use them.
"""

import json


def invoice_payload(invoice) -> dict:
    return {}


def payload_bytes(invoice) -> bytes:
    return json.dumps(invoice_payload(invoice), ensure_ascii=False, indent=2).encode()
