"""Submitting an invoice: validation, scenario, duplicate detection and the first lifecycle step."""

import secrets
import string
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from sandbox.clearvo import lifecycle
from sandbox.clearvo.idempotency import ApiResponse
from sandbox.clearvo.models import ApiKey, ClearanceStatus, InvoiceSubmission, Scenario
from sandbox.clearvo.responses import submission_body, unprocessable_body, validation_error_body
from sandbox.clearvo.validation import body_violations, country_rule_violations

SCENARIO_SUFFIXES = {
    "-REJECT": Scenario.REJECT,
    "-DUPLICATE": Scenario.DUPLICATE,
    "-UNDELIVERED": Scenario.UNDELIVERED,
    "-SLOW": Scenario.SLOW,
}
REFERENCE_ALPHABET = string.ascii_uppercase + string.digits


def scenario_for(invoice_number: str) -> Scenario:
    number = invoice_number.strip().upper()
    for suffix, scenario in SCENARIO_SUFFIXES.items():
        if number.endswith(suffix):
            return scenario
    return Scenario.NONE


def supplier_key(supplier: dict) -> str:
    """What makes two submissions come from the same supplier: its tax id, else its name."""
    if supplier.get("taxId"):
        return f"{supplier['taxIdCountry']}:{supplier['taxId']}"
    return "name:" + " ".join(supplier["name"].split()).casefold()


def _reference_id(country: str, issue_date: date) -> str:
    while True:
        suffix = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
        reference_id = f"{country}-{issue_date:%Y%m%d}-{suffix}"
        if not InvoiceSubmission.objects.filter(reference_id=reference_id).exists():
            return reference_id


def _earlier_original(*, api_key: ApiKey, supplier: str, invoice_number: str) -> InvoiceSubmission | None:
    """An earlier submission of this number by this supplier that has not been (or will not be) rejected."""
    return (
        api_key.invoices.filter(supplier_key=supplier, invoice_number=invoice_number)
        .exclude(clearance_status=ClearanceStatus.REJECTED)
        .exclude(scenario=Scenario.REJECT, duplicate_of__isnull=True)
        .order_by("submitted_at", "id")
        .first()
    )


def invoice_submit(
    *,
    api_key: ApiKey,
    payload: dict,
    stored_payload: dict,
    idempotency_key: str,
    entity_id: str,
    now: datetime | None = None,
) -> ApiResponse:
    """Validates `payload` (numbers as Decimal) and records the submission; 400/422 create nothing.

    `stored_payload` is the same body as plain JSON, kept on the submission.
    """
    violations = body_violations(payload)
    if violations:
        return ApiResponse(400, validation_error_body(violations))
    violations = country_rule_violations(payload)
    if violations:
        return ApiResponse(422, unprocessable_body(violations))
    with transaction.atomic():
        # Serialises submissions per API key, so two at once cannot both miss each other's number.
        ApiKey.objects.select_for_update().filter(pk=api_key.pk).first()
        supplier = supplier_key(payload["supplier"])
        invoice = InvoiceSubmission(
            reference_id=_reference_id(payload["country"], date.fromisoformat(payload["issueDate"])),
            api_key=api_key,
            idempotency_key=idempotency_key,
            entity_id=entity_id,
            country=payload["country"],
            document_type=payload["documentType"],
            invoice_number=payload["invoiceNumber"],
            supplier_key=supplier,
            payload=stored_payload,
            scenario=scenario_for(payload["invoiceNumber"]),
            duplicate_of=_earlier_original(api_key=api_key, supplier=supplier, invoice_number=payload["invoiceNumber"]),
            submitted_at=lifecycle.whole_seconds(now or timezone.now()),
        )
        invoice.save()
        lifecycle.record_submitted(invoice)
        invoice.save()
    return ApiResponse(200, submission_body(invoice), invoice=invoice)
