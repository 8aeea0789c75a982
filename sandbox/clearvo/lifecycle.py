"""Per-country clearance lifecycles, computed from the time elapsed since submission.

Nothing runs in the background: whoever reads an invoice first advances it (`invoice_advance`),
and each transition is written once, stamped with the time it was scheduled for. Every duration
is divided by the time factor (SANDBOX_TIME_FACTOR, or the Sandbox settings), so a demo can play
a 5-minute cadence out in seconds.
"""

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from sandbox import live_settings
from sandbox.clearvo.models import ApiKey, ClearanceStatus, InvoiceEvent, InvoiceSubmission, Scenario

MC_WINDOW = timedelta(days=10)
UNDELIVERED_CADENCE = timedelta(hours=1)
# A poll this much (as a share of the cadence) before nextPollAfter counts as on time.
POLL_TOLERANCE = 0.1
# Polls of one invoice before its nextPollAfter that are answered with its status (the spec's
# loop makes one, right after the POST); any more before that time are abusive and get 429.
EARLY_POLL_LIMIT = 5


@dataclass(frozen=True)
class Rejection:
    """The error object of a REJECTED status."""

    source: str
    code: str
    message: str
    # Formatted with the supplier's tax id (or name), the invoice number, the recipient (Italy) and
    # `first`: " (first submitted as <referenceId>)" for a repeated number, else "".
    detail: str


@dataclass(frozen=True)
class Authority:
    source: str  # error.source
    format: str
    decision_after: timedelta | None  # None: decided on the POST itself
    slow_decision_after: timedelta | None
    cadence: timedelta
    reject_code: str  # its usual rejection (the -REJECT scenario)
    reject_message: str
    reject_detail: str

    @property
    def rejection(self) -> Rejection:
        return Rejection(self.source, self.reject_code, self.reject_message, self.reject_detail)


AUTHORITIES = {
    "IT": Authority(
        "SDI",
        "FatturaPA 1.2",
        timedelta(minutes=4),
        timedelta(minutes=28),
        timedelta(minutes=5),
        "00102",
        "Partita IVA fornitore non trovata",
        "Supplier tax ID {supplier} is not registered with the Italian Revenue Agency",
    ),
    "PL": Authority(
        "KSeF",
        "FA(3)",
        timedelta(seconds=30),
        timedelta(minutes=3),
        timedelta(seconds=60),
        "InvalidNip",
        "Nieprawidłowy NIP",
        "Supplier NIP {supplier} is not accepted by KSeF",
    ),
    "ES": Authority(
        "AEAT",
        "VerifactuREC",
        timedelta(seconds=60),
        timedelta(minutes=6),
        timedelta(seconds=60),
        "NIF_NOT_IDENTIFIED",
        "NIF del emisor no identificado",
        "Supplier tax ID {supplier} is not identified in the AEAT census",
    ),
    "PT": Authority(
        "AT",
        "SAFT-PT",
        timedelta(seconds=60),
        timedelta(minutes=6),
        timedelta(seconds=60),
        "NIF_INVALID",
        "NIF do emitente inválido",
        "Supplier tax ID {supplier} is not registered with the Autoridade Tributária",
    ),
    "HU": Authority(
        "NAV",
        "Online Számla v3.0",
        timedelta(seconds=60),
        timedelta(minutes=6),
        timedelta(seconds=60),
        "INVALID_SUPPLIER_TAX_NUMBER",
        "Érvénytelen eladói adószám",
        "Supplier tax number {supplier} is not registered with NAV",
    ),
    "FR": Authority(
        "DGFiP",
        "Factur-X / UBL",
        timedelta(minutes=4),
        timedelta(minutes=28),
        timedelta(minutes=5),
        "REJ_SEMAN",
        "Rejet sémantique",
        "Supplier {supplier} is not listed in the DGFiP directory",
    ),
    "RO": Authority(
        "ANAF",
        "e-Factura CIUS-RO",
        timedelta(minutes=4),
        timedelta(minutes=28),
        timedelta(minutes=5),
        "CIF_INVALID",
        "CIF-ul furnizorului nu este înregistrat",
        "Supplier tax ID {supplier} is not registered with ANAF",
    ),
    "DE": Authority(
        "PEPPOL_AP",
        "XRechnung 3.0",
        None,
        None,
        timedelta(seconds=60),
        "RE",
        "Rejected by the recipient's Peppol Access Point",
        "The buyer's Access Point answered invoice {number} with an Invoice Response of status RE",
    ),
}


SDI_DUPLICATE = Rejection(
    "SDI",
    "00002",
    "Fattura duplicata",
    "Invoice number {number} was already sent by the same sender ({supplier}){first}",
)
KSEF_DUPLICATE = Rejection(
    "KSeF",
    "DuplicateInvoice",
    "Faktura o tym numerze została już przesłana",
    "Invoice number {number} was already submitted for NIP {supplier} in this session{first}",
)
# Where the authority answers a number it already has with a rejection; elsewhere it is DUPLICATE.
DUPLICATE_REJECTIONS = {"IT": SDI_DUPLICATE, "PL": KSEF_DUPLICATE}

# The rejection a scenario asks for, in its authority's country; in another country a rejecting
# scenario gets that country's usual rejection, as -REJECT does.
SCENARIO_REJECTIONS = {
    Scenario.SDI_00001: (
        "IT",
        Rejection(
            "SDI",
            "00001",
            "File non conforme al formato",
            "Invalid file structure: FatturaElettronicaBody/DatiBeniServizi/DettaglioLinee[1]/AliquotaIVA "
            "does not validate against the FatturaPA 1.2 schema",
        ),
    ),
    Scenario.SDI_00002: ("IT", SDI_DUPLICATE),
    Scenario.SDI_00102: ("IT", AUTHORITIES["IT"].rejection),
    Scenario.SDI_00201: (
        "IT",
        Rejection(
            "SDI",
            "00201",
            "Codice Destinatario o PEC non trovato o non attivo",
            "The recipient ({recipient}) is not found or not active in the SDI registry",
        ),
    ),
    Scenario.KSEF_INVALID_NIP: ("PL", AUTHORITIES["PL"].rejection),
    Scenario.KSEF_DUPLICATE: ("PL", KSEF_DUPLICATE),
    Scenario.KSEF_SCHEMA: (
        "PL",
        Rejection(
            "KSeF",
            "SchemaValidationError",
            "Błąd weryfikacji schematu FA(3)",
            "/Faktura/Fa/FaWiersz[1]/P_12: the value is not one of the VAT rates the FA(3) schema allows",
        ),
    ),
    Scenario.PEPPOL_REJECT: ("DE", AUTHORITIES["DE"].rejection),
}
REJECTING_SCENARIOS = frozenset({Scenario.REJECT, *SCENARIO_REJECTIONS})


def scaled(duration: timedelta) -> timedelta:
    return duration / float(live_settings.current().time_factor)


def whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def decision_time(invoice: InvoiceSubmission) -> datetime:
    authority = AUTHORITIES[invoice.country]
    delay = authority.slow_decision_after if invoice.scenario == Scenario.SLOW else authority.decision_after
    return invoice.submitted_at + scaled(delay or timedelta(0))


def cadence(invoice: InvoiceSubmission) -> timedelta:
    if invoice.clearance_status == ClearanceStatus.UNDELIVERED:
        return scaled(UNDELIVERED_CADENCE)
    return scaled(AUTHORITIES[invoice.country].cadence)


def is_synchronous(country: str) -> bool:
    return AUTHORITIES[country].decision_after is None


def _outcome(invoice: InvoiceSubmission) -> ClearanceStatus:
    if invoice.duplicate_of_id:
        return ClearanceStatus.REJECTED if invoice.country in DUPLICATE_REJECTIONS else ClearanceStatus.DUPLICATE
    if invoice.scenario == Scenario.DUPLICATE:
        return ClearanceStatus.DUPLICATE
    if invoice.scenario in REJECTING_SCENARIOS:
        return ClearanceStatus.REJECTED
    if invoice.scenario == Scenario.UNDELIVERED and invoice.country == "IT":
        return ClearanceStatus.UNDELIVERED
    return ClearanceStatus.ACCEPTED


def _supplier(invoice: InvoiceSubmission) -> dict:
    return invoice.payload.get("supplier") or {}


def _recipient(invoice: InvoiceSubmission) -> str:
    """The SDI recipient as the payload names it: codice destinatario, PEC, else the SMP lookup."""
    italy = ((invoice.payload.get("countryData") or {}).get("it")) or {}
    if italy.get("codiceDestinatario"):
        return f"Codice Destinatario {italy['codiceDestinatario']}"
    if italy.get("pecDestinatario"):
        return f"PEC {italy['pecDestinatario']}"
    buyer = invoice.payload.get("buyer") or {}
    return f"looked up via SMP for {buyer.get('taxId') or buyer.get('name', 'the buyer')}"


def _rejection(invoice: InvoiceSubmission) -> Rejection:
    if invoice.duplicate_of_id and invoice.country in DUPLICATE_REJECTIONS:
        return DUPLICATE_REJECTIONS[invoice.country]
    country, rejection = SCENARIO_REJECTIONS.get(invoice.scenario, (None, None))
    return rejection if country == invoice.country else AUTHORITIES[invoice.country].rejection


def _first_submission(invoice: InvoiceSubmission) -> str:
    return f" (first submitted as {invoice.duplicate_of.reference_id})" if invoice.duplicate_of_id else ""


def _ksef_number(invoice: InvoiceSubmission, at: datetime) -> str:
    supplier = _supplier(invoice)
    nip = supplier.get("taxId") if supplier.get("taxIdCountry") == "PL" and supplier.get("taxId") else "0000000000"
    return f"{nip}-{at:%Y%m%d}-{secrets.token_hex(6).upper()}-{secrets.token_hex(1).upper()}"


def _event(invoice: InvoiceSubmission, status: str, at: datetime, message: str, **extra) -> None:
    InvoiceEvent.objects.create(invoice=invoice, status=status, at=at, message=message, extra=extra)


def record_submitted(invoice: InvoiceSubmission) -> None:
    """The first event(s) of a new submission; a synchronous country is decided right away."""
    authority = AUTHORITIES[invoice.country]
    if is_synchronous(invoice.country):
        _decide(invoice, at=invoice.submitted_at)
        return
    _event(
        invoice, ClearanceStatus.PENDING, invoice.submitted_at, f"Submitted to {authority.source} as {authority.format}"
    )
    invoice.next_poll_after = whole_seconds(invoice.submitted_at + cadence(invoice))


def _decide(invoice: InvoiceSubmission, *, at: datetime) -> None:
    authority = AUTHORITIES[invoice.country]
    synchronous = is_synchronous(invoice.country)
    peppol = {"peppolDelivered": False} if synchronous else {}
    status = _outcome(invoice)
    invoice.clearance_status = status
    invoice.decided_at = at
    invoice.terminal = status != ClearanceStatus.UNDELIVERED
    if status == ClearanceStatus.ACCEPTED:
        invoice.cleared_at = at
        if synchronous and invoice.scenario == Scenario.PEPPOL_UNDELIVERED:
            message = (
                f"{authority.format} validated; the buyer has no Peppol ID, so the invoice is available "
                "for download in the Clearvo portal"
            )
            _event(invoice, status, at, message, peppolDelivered=False)
        elif synchronous:
            _event(invoice, status, at, f"{authority.format} validated and delivered via Peppol", peppolDelivered=True)
        elif invoice.country == "PL":
            _event(invoice, status, at, "Accepted by KSeF", kSeFNumber=_ksef_number(invoice, at))
        else:
            _event(invoice, status, at, f"Cleared by {authority.source}")
    elif status == ClearanceStatus.REJECTED:
        supplier = _supplier(invoice)
        rejection = _rejection(invoice)
        invoice.rejected_at = at
        invoice.error = {
            "source": rejection.source,
            "code": rejection.code,
            "message": rejection.message,
            "detail": rejection.detail.format(
                supplier=supplier.get("taxId") or supplier.get("name", ""),
                number=invoice.invoice_number,
                recipient=_recipient(invoice),
                first=_first_submission(invoice),
            ),
        }
        _event(invoice, status, at, f"Rejected by {rejection.source}: {rejection.code}", **peppol)
    elif status == ClearanceStatus.DUPLICATE:
        original = _first_submission(invoice)
        message = f"{authority.source} already has invoice number {invoice.invoice_number} from this supplier{original}"
        _event(invoice, status, at, message, **peppol)
    else:
        invoice.mc_deadline = at + scaled(MC_WINDOW)
        _event(
            invoice,
            status,
            at,
            "SDI could not deliver the invoice to the recipient's inbox; it retries until mcDeadline",
        )


def invoice_advance(*, invoice: InvoiceSubmission, now: datetime) -> None:
    """Writes the transitions due by `now`. The caller holds the invoice's row lock."""
    changed = False
    if invoice.clearance_status == ClearanceStatus.PENDING and decision_time(invoice) <= now:
        _decide(invoice, at=decision_time(invoice))
        changed = True
    if invoice.clearance_status == ClearanceStatus.UNDELIVERED and invoice.mc_deadline <= now:
        invoice.clearance_status = ClearanceStatus.ACCEPTED
        invoice.terminal = True
        invoice.cleared_at = invoice.mc_deadline
        _event(
            invoice,
            ClearanceStatus.ACCEPTED,
            invoice.mc_deadline,
            "SDI delivery window ended; the invoice is legally valid (D.Lgs. 127/2015)",
        )
        changed = True
    if changed:
        invoice.save()


@dataclass(frozen=True)
class Poll:
    invoice: InvoiceSubmission | None = None
    retry_after: int | None = None  # seconds, when rate limited


def invoice_poll(*, api_key: ApiKey, reference_id: str, country: str) -> Poll:
    """One GET /invoices/status: advances the lifecycle, then answers it or rate limits.

    A poll on time (at nextPollAfter, less the tolerance) gets a new nextPollAfter. An early one
    gets the current status with the nextPollAfter already given, as the spec's polling loop
    expects; only more than EARLY_POLL_LIMIT of them before that time are answered 429.
    """
    now = timezone.now()
    with transaction.atomic():
        invoice = api_key.invoices.select_for_update().filter(reference_id=reference_id, country=country).first()
        if invoice is None:
            return Poll()
        invoice_advance(invoice=invoice, now=now)
        if invoice.terminal:
            if invoice.next_poll_after is not None:
                invoice.next_poll_after = None
                invoice.save(update_fields=["next_poll_after"])
            return Poll(invoice=invoice)
        if invoice.next_poll_after is not None and now < invoice.next_poll_after - cadence(invoice) * POLL_TOLERANCE:
            invoice.early_polls += 1
            invoice.save(update_fields=["early_polls"])
            if invoice.early_polls > EARLY_POLL_LIMIT:
                wait = (invoice.next_poll_after - now).total_seconds()
                return Poll(invoice=invoice, retry_after=max(1, math.ceil(wait)))
            return Poll(invoice=invoice)
        invoice.next_poll_after = whole_seconds(now + cadence(invoice))
        invoice.early_polls = 0
        invoice.save(update_fields=["next_poll_after", "early_polls"])
    return Poll(invoice=invoice)
