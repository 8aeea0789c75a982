"""Submitting an invoice: validation, scenario, duplicate detection and the first lifecycle step."""

import secrets
import string
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from sandbox.clearvo import lifecycle
from sandbox.clearvo.idempotency import ApiResponse
from sandbox.clearvo.models import ApiKey, ClearanceStatus, InvoiceSubmission, Scenario
from sandbox.clearvo.responses import submission_body, unprocessable_body, validation_error_body
from sandbox.clearvo.validation import body_violations, country_rule_violations


@dataclass(frozen=True)
class Trigger:
    """An invoice-number suffix that asks for a scenario; `effect` is what /sandbox/ says of it."""

    suffix: str
    scenario: Scenario
    effect: str


TRIGGERS = [
    Trigger("-REJECT", Scenario.REJECT, "REJECTED with the authority's usual code (SDI 00102, KSeF InvalidNip, …)"),
    Trigger("-DUPLICATE", Scenario.DUPLICATE, "DUPLICATE, in every country"),
    Trigger("-UNDELIVERED", Scenario.UNDELIVERED, "IT: UNDELIVERED with an mcDeadline 10 days on, then ACCEPTED"),
    Trigger("-SLOW", Scenario.SLOW, "the decision takes 6 to 7 times longer"),
    Trigger("-SDI00001", Scenario.SDI_00001, "IT: REJECTED by SDI, 00001 (invalid file structure)"),
    Trigger("-SDI00002", Scenario.SDI_00002, "IT: REJECTED by SDI, 00002 (duplicate invoice number)"),
    Trigger("-SDI00102", Scenario.SDI_00102, "IT: REJECTED by SDI, 00102 (supplier Partita IVA not found)"),
    Trigger("-SDI00201", Scenario.SDI_00201, "IT: REJECTED by SDI, 00201 (Codice Destinatario or PEC not found)"),
    Trigger("-KSEF-INVALIDNIP", Scenario.KSEF_INVALID_NIP, "PL: REJECTED by KSeF, InvalidNip"),
    Trigger("-KSEF-DUPLICATE", Scenario.KSEF_DUPLICATE, "PL: REJECTED by KSeF, DuplicateInvoice"),
    Trigger("-KSEF-SCHEMA", Scenario.KSEF_SCHEMA, "PL: REJECTED by KSeF, SchemaValidationError (XPath in detail)"),
    Trigger("-PEPPOL-REJECT", Scenario.PEPPOL_REJECT, "DE: REJECTED on the POST, error.source PEPPOL_AP"),
    Trigger(
        "-PEPPOL-UNDELIVERED",
        Scenario.PEPPOL_UNDELIVERED,
        "DE: ACCEPTED on the POST, its event with peppolDelivered: false",
    ),
]
# The longest first: -PEPPOL-UNDELIVERED also ends in -UNDELIVERED.
_BY_LENGTH = sorted(TRIGGERS, key=lambda trigger: len(trigger.suffix), reverse=True)
REFERENCE_ALPHABET = string.ascii_uppercase + string.digits


def scenario_for(invoice_number: str) -> Scenario:
    number = invoice_number.strip().upper()
    for trigger in _BY_LENGTH:
        if number.endswith(trigger.suffix):
            return trigger.scenario
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


def _earlier_original(*, api_key: ApiKey, country: str, supplier: str, invoice_number: str) -> InvoiceSubmission | None:
    """An earlier submission of this number by this supplier to this country's authority that has
    not been (or will not be) rejected: the authority holds it, whatever idempotency key it came with."""
    return (
        api_key.invoices.filter(country=country, supplier_key=supplier, invoice_number=invoice_number)
        .exclude(clearance_status=ClearanceStatus.REJECTED)
        .exclude(scenario__in=lifecycle.REJECTING_SCENARIOS, duplicate_of__isnull=True)
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
            duplicate_of=_earlier_original(
                api_key=api_key,
                country=payload["country"],
                supplier=supplier,
                invoice_number=payload["invoiceNumber"],
            ),
            submitted_at=lifecycle.whole_seconds(now or timezone.now()),
        )
        invoice.save()
        lifecycle.record_submitted(invoice)
        invoice.save()
    return ApiResponse(200, submission_body(invoice), invoice=invoice)
