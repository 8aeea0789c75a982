"""Why a submission ended as it did, in plain words, and what to do next (nl, fr and en).

Every rejection the Clearvo spec documents (SDI, KSeF, a Peppol access point), the statuses that
need a word (DUPLICATE, UNDELIVERED, an ACCEPTED invoice that Peppol did not deliver) and the
portal's own reasons for holding or failing a send (Submission.reason_code) get an Explanation:
what happened, what to do, and the field to fix where there is one. The timeline shows them; the
texts are translated when shown, never stored.
"""

from dataclasses import dataclass

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from invoicing.models import ClearvoAccount, Invoice, InvoicingProfile, Submission


@dataclass(frozen=True)
class Fix:
    """Where the problem is corrected: a field of the invoice, of the invoicing profile, or the office's Clearvo key."""

    INVOICE, PROFILE, CLEARVO_KEY = "invoice", "profile", "clearvo-key"
    MODELS = {INVOICE: Invoice, PROFILE: InvoicingProfile, CLEARVO_KEY: ClearvoAccount}

    place: str
    field: str

    @property
    def label(self) -> str:
        return str(capfirst(self.MODELS[self.place]._meta.get_field(self.field).verbose_name))

    @property
    def on_invoice(self) -> bool:
        return self.place == self.INVOICE

    @property
    def on_profile(self) -> bool:
        return self.place == self.PROFILE

    @property
    def on_clearvo_key(self) -> bool:
        return self.place == self.CLEARVO_KEY


@dataclass(frozen=True)
class Explanation:
    key: str  # "SDI 00102", "DUPLICATE", "outcome-unknown", ...
    meaning: str  # what happened
    next_step: str  # what to do now
    fix: Fix | None = None
    title: str = ""  # a few words, for a list or a badge (the key for an authority's code)

    @property
    def short(self) -> str:
        return str(self.title or self.key)


def _explanation(key, meaning, next_step, fix=None, *, title="") -> Explanation:
    return Explanation(key, meaning, next_step, fix, title)


# A number the authority already holds: the portal compared it with what it sent under the number
# (invoicing.duplicates), and the invoice's page says which case it is and offers its one way out.
DUPLICATE_NEXT_STEP = _(
    "The portal compared this with what it sent before under the number: the box above says whether the "
    "authority's record is this very invoice (then adopt that earlier outcome) or another one (then give this "
    "invoice a new number)."
)

# Authority rejections (error.source and error.code of a REJECTED status).
REJECTIONS = {
    ("SDI", "00001"): _explanation(
        "SDI 00001",
        _("The SDI could not read the invoice file: its structure breaks the FatturaPA schema."),
        _(
            "Look at the part of the invoice the authority's detail names (often a line or its VAT category), "
            "correct it and send the invoice again. If everything looks right, contact support with the "
            "Clearvo reference."
        ),
    ),
    ("SDI", "00002"): _explanation(
        "SDI 00002",
        _("The SDI already holds an invoice with this number from your company."),
        DUPLICATE_NEXT_STEP,
    ),
    ("SDI", "00102"): _explanation(
        "SDI 00102",
        _("The Italian Revenue Agency does not know the supplier's VAT number (Partita IVA) on the invoice."),
        _(
            "Check the company number in the administration's invoicing profile; once it is right, fix the "
            "invoice and send it again."
        ),
        Fix(Fix.PROFILE, "tax_id"),
    ),
    ("SDI", "00201"): _explanation(
        "SDI 00201",
        _("The SDI does not know the buyer's codice destinatario or PEC address, or it is no longer active."),
        _(
            "Ask the buyer for their current codice destinatario (7 characters) or PEC address, correct it on "
            "the invoice and send it again."
        ),
        Fix(Fix.INVOICE, "it_codice_destinatario"),
    ),
    ("KSeF", "InvalidNip"): _explanation(
        "KSeF InvalidNip",
        _("KSeF refused a Polish tax number (NIP) on the invoice: its check digits are wrong."),
        _(
            "Check the buyer's tax number (10 digits, without PL), correct it and send the invoice again. If it "
            "is right, check the company number in the invoicing profile."
        ),
        Fix(Fix.INVOICE, "buyer_tax_id"),
    ),
    ("KSeF", "DuplicateInvoice"): _explanation(
        "KSeF DuplicateInvoice",
        _("KSeF already holds an invoice with this number from your company."),
        DUPLICATE_NEXT_STEP,
    ),
    ("KSeF", "SchemaValidationError"): _explanation(
        "KSeF SchemaValidationError",
        _("KSeF found that the invoice file breaks the FA(3) schema; the authority's detail gives the place."),
        _(
            "Look at the part of the invoice the detail names (often a line's VAT category), correct it and send "
            "the invoice again. If everything looks right, contact support with the Clearvo reference."
        ),
    ),
}
PEPPOL_REJECTION = _explanation(
    "PEPPOL_AP",
    _("The buyer's Peppol access point refused the invoice."),
    _(
        "Ask the buyer why (a missing order reference, a wrong Leitweg-ID for a public body), correct the invoice "
        "and send it again."
    ),
    Fix(Fix.INVOICE, "de_buyer_reference"),
)
OTHER_REJECTION = _explanation(
    "REJECTED",
    _("The tax authority rejected the invoice; its message is shown below."),
    _(
        "Correct what the message names and send the invoice again. If it is unclear, contact support with the "
        "Clearvo reference."
    ),
)

# Clearance statuses that need a word of their own.
DUPLICATE = _explanation(
    "DUPLICATE",
    _(
        "The authority already holds an invoice with this number from your company, so it did not register this "
        "one again."
    ),
    DUPLICATE_NEXT_STEP,
)
UNDELIVERED = _explanation(
    "UNDELIVERED",
    _(
        "The SDI received the invoice but could not deliver it to the buyer's inbox (a wrong codice destinatario, "
        "a full mailbox). It keeps trying until the deadline shown."
    ),
    _(
        "Do not send the invoice again: the same number would be rejected as a duplicate. Tell the buyer it is "
        "waiting for them and check their codice destinatario or PEC address. After the deadline the invoice is "
        "legally valid even if it was never delivered (D.Lgs. 127/2015)."
    ),
)
PEPPOL_UNDELIVERED = _explanation(
    "peppol-undelivered",
    _(
        "The invoice is valid, but the buyer has no Peppol address: it was not delivered electronically. It can "
        "be downloaded from the Clearvo portal."
    ),
    _("Send the buyer the invoice another way, by e-mail or post."),
)

# The portal's own reasons (Submission.reason_code), for a send held, failed, refused or retrying.
REASONS = {
    "outcome-unknown": _explanation(
        "outcome-unknown",
        _(
            "The invoice went out to Clearvo, but no answer came back, and the time in which the portal may "
            "safely send it again has passed. Sending it blindly could register it twice."
        ),
        _(
            "Ask Clearvo whether it received this invoice number. If it did not, choose “Clearvo does not have "
            "it”: the invoice becomes a draft again and can be sent anew. If you are unsure, choose “Send again "
            "(same key)”: an invoice the authority already holds ends as a duplicate, not as a second invoice."
        ),
        title=_("no answer from Clearvo"),
    ),
    "conflict": _explanation(
        "conflict",
        _(
            "Clearvo refused the send: a different invoice was sent earlier under the same idempotency key. This "
            "is a fault of the portal, and the platform staff can see it."
        ),
        _("Nothing was sent. Contact support and leave the invoice as it is meanwhile."),
        title=_("idempotency conflict"),
    ),
    "key-refused": _explanation(
        "key-refused",
        _("Clearvo refused the office's API key: it is wrong, or no longer active."),
        _("An office administrator enters a valid Clearvo key for the office; then send the invoice again."),
        Fix(Fix.CLEARVO_KEY, "api_key"),
        title=_("API key refused"),
    ),
    "no-key": _explanation(
        "no-key",
        _("The office has no Clearvo key, and the platform has no default key either: nothing was sent."),
        _("An office administrator enters the office's Clearvo key; then send the invoice again."),
        Fix(Fix.CLEARVO_KEY, "api_key"),
        title=_("no Clearvo key"),
    ),
    "not-allowed": _explanation(
        "not-allowed",
        _(
            "The person who submitted the invoice may no longer submit invoices of this administration (their "
            "role changed before it was sent): nothing was sent, and the invoice is a draft again."
        ),
        _("Someone who may submit invoices of this administration checks it and submits it again."),
        title=_("submitter no longer allowed"),
    ),
    "undelivered-deadline": _explanation(
        "undelivered-deadline",
        _("The SDI's ten days to deliver the invoice to the buyer ended without delivering it."),
        _(
            "The invoice is still legally valid (D.Lgs. 127/2015). Send the buyer a copy another way (e-mail, "
            "post) and keep the proof of the SDI notification. Do not send it again: the same number would be "
            "rejected as a duplicate."
        ),
        title=_("SDI delivery window ended"),
    ),
    # A person held a send that Clearvo had not confirmed (invoicing.cockpit_actions.submission_hold).
    "held-by-person": _explanation(
        "held-by-person",
        _(
            "A colleague stopped the send before Clearvo confirmed it: the portal sends nothing more until a "
            "person decides. Clearvo may or may not have the invoice."
        ),
        _(
            "Check in Clearvo whether it holds the invoice. If you are unsure, choose “Send again (same key)”: "
            "Clearvo recognises the request, so the invoice cannot be registered twice. Choose “Clearvo does not "
            "have it” only if it does not."
        ),
        title=_("held by a colleague"),
    ),
    "unavailable": _explanation(
        "unavailable",
        _("Clearvo could not be reached, or was too busy to answer."),
        _(
            "Nothing to do: the portal tries again by itself, with the same idempotency key, so the invoice "
            "cannot be registered twice."
        ),
        title=_("Clearvo unreachable or busy"),
    ),
    "invalid": _explanation(
        "invalid",
        _("Clearvo refused the invoice before it reached the authority: some fields break its rules."),
        _("The invoice is a draft again. Correct each field listed here, then submit it again."),
        title=_("refused by Clearvo"),
    ),
}
OTHER_REASON = _explanation(
    "other",
    _("The send did not go through."),
    _("Contact support with the Clearvo reference, or the time shown, if it does not resolve itself."),
    title=_("send failed"),
)
# While a send is retried the portal is on it, whatever went wrong: one explanation says so.
RETRYING = REASONS["unavailable"]


def for_rejection(error: dict) -> Explanation:
    """The explanation of a REJECTED status's error object (source, code, message, detail)."""
    source, code = error.get("source", ""), error.get("code", "")
    if source == "PEPPOL_AP":
        return PEPPOL_REJECTION
    return REJECTIONS.get((source, code), OTHER_REJECTION)


def for_reason(code: str) -> Explanation:
    return REASONS.get(code, OTHER_REASON)


def for_submission(submission: Submission, *, peppol_undelivered: bool = False) -> list[Explanation]:
    """What the timeline explains for one submission, most important first."""
    State, Status = Submission.State, Submission.ClearanceStatus
    found = []
    if submission.state == State.REFUSED:
        found.append(REASONS["invalid"])
    elif submission.state == State.RETRYING:
        found.append(RETRYING)
    elif submission.state in (State.HELD, State.FAILED):
        found.append(for_reason(submission.reason_code))
    status = submission.clearance_status
    if status == Status.REJECTED:
        found.append(for_rejection(submission.error or {}))
    elif status == Status.DUPLICATE:
        found.append(DUPLICATE)
    elif status == Status.UNDELIVERED:
        deadline_passed = submission.reason_code == "undelivered-deadline"
        found.append(REASONS["undelivered-deadline"] if deadline_passed else UNDELIVERED)
    elif status == Status.ACCEPTED and peppol_undelivered:
        found.append(PEPPOL_UNDELIVERED)
    return found


def every_explanation() -> list[Explanation]:
    """All of them (the tests check each is translated)."""
    return [
        *REJECTIONS.values(),
        PEPPOL_REJECTION,
        OTHER_REJECTION,
        DUPLICATE,
        UNDELIVERED,
        PEPPOL_UNDELIVERED,
        *REASONS.values(),
        OTHER_REASON,
    ]
