"""Every rejection code of the Clearvo spec, and each of the portal's own reasons, explained in nl, fr and en."""

import pytest
from django.utils import translation

from invoicing import explanations
from invoicing.explanations import Fix
from invoicing.models import Submission

State, Clearance = Submission.State, Submission.ClearanceStatus

# The spec's "Clearance errors": error.source and error.code of a REJECTED status.
SPEC_REJECTIONS = [
    ("SDI", "00001"),
    ("SDI", "00002"),
    ("SDI", "00102"),
    ("SDI", "00201"),
    ("KSeF", "InvalidNip"),
    ("KSeF", "DuplicateInvoice"),
    ("KSeF", "SchemaValidationError"),
]
PORTAL_REASONS = ["outcome-unknown", "conflict", "key-refused", "no-key", "undelivered-deadline"]


@pytest.mark.parametrize(("source", "code"), SPEC_REJECTIONS)
def test_each_documented_rejection_has_its_own_explanation(source, code):
    explanation = explanations.for_rejection({"source": source, "code": code, "message": "..."})

    assert explanation is not explanations.OTHER_REJECTION and explanation.key == f"{source} {code}"


def test_a_peppol_access_points_rejection_is_explained_whatever_its_code():
    for code in ("RE", "AB", ""):
        assert explanations.for_rejection({"source": "PEPPOL_AP", "code": code}).key == "PEPPOL_AP"


def test_an_undocumented_rejection_gets_the_general_explanation():
    assert explanations.for_rejection({"source": "AEAT", "code": "NIF_NOT_IDENTIFIED"}) is explanations.OTHER_REJECTION
    assert explanations.for_rejection({}) is explanations.OTHER_REJECTION


@pytest.mark.parametrize(
    ("source", "code", "place", "field", "label"),
    [
        ("SDI", "00102", Fix.PROFILE, "tax_id", "Company number (VAT)"),
        ("SDI", "00201", Fix.INVOICE, "it_codice_destinatario", "Codice destinatario"),
        ("KSeF", "InvalidNip", Fix.INVOICE, "buyer_tax_id", "Buyer VAT or tax number"),
        ("PEPPOL_AP", "RE", Fix.INVOICE, "de_buyer_reference", "Leitweg-ID (buyer reference)"),
    ],
)
def test_the_explanation_names_the_field_to_fix(source, code, place, field, label):
    fix = explanations.for_rejection({"source": source, "code": code}).fix

    assert (fix.place, fix.field) == (place, field)
    with translation.override("en"):
        assert fix.label == label


@pytest.mark.parametrize(("source", "code"), [("SDI", "00002"), ("KSeF", "DuplicateInvoice")])
def test_a_number_the_authority_already_has_points_to_the_portals_comparison_not_to_a_field(source, code):
    """The invoice's page says whether it is this very invoice (adopt) or another one (a new number):
    a field to fix would send a user changing the number of an invoice the authority already holds."""
    explained = explanations.for_rejection({"source": source, "code": code})

    assert explained.fix is None and explained.next_step == explanations.DUPLICATE_NEXT_STEP


@pytest.mark.parametrize("code", PORTAL_REASONS)
def test_each_of_the_portals_reasons_has_its_own_explanation(code):
    assert explanations.for_reason(code).key == code
    assert explanations.for_reason("something-new") is explanations.OTHER_REASON


def test_a_refused_key_points_to_the_offices_clearvo_key():
    for code in ("key-refused", "no-key"):
        assert explanations.for_reason(code).fix.on_clearvo_key


def explained(**fields) -> list[str]:
    return [e.key for e in explanations.for_submission(Submission(**fields))]


def test_what_the_timeline_explains_for_each_kind_of_ending():
    assert explained(state=State.REFUSED) == ["invalid"]
    assert explained(state=State.HELD, reason_code="outcome-unknown") == ["outcome-unknown"]
    assert explained(state=State.FAILED, reason_code="conflict") == ["conflict"]
    assert explained(state=State.RETRYING, reason_code="outcome-unknown") == ["unavailable"]  # the portal is on it
    assert explained(state=State.SENT, clearance_status=Clearance.PENDING) == []
    assert explained(state=State.SENT, clearance_status=Clearance.ACCEPTED) == []
    rejected = {"source": "SDI", "code": "00201"}
    assert explained(state=State.SENT, clearance_status=Clearance.REJECTED, error=rejected) == ["SDI 00201"]
    assert explained(state=State.CANCELLED, clearance_status=Clearance.REJECTED, error=rejected) == ["SDI 00201"]
    assert explained(state=State.SENT, clearance_status=Clearance.DUPLICATE) == ["DUPLICATE"]
    assert explained(state=State.SENT, clearance_status=Clearance.UNDELIVERED) == ["UNDELIVERED"]
    past_deadline = {"clearance_status": Clearance.UNDELIVERED, "reason_code": "undelivered-deadline"}
    assert explained(state=State.SENT, **past_deadline) == ["undelivered-deadline"]
    accepted = Submission(state=State.SENT, clearance_status=Clearance.ACCEPTED)
    assert [e.key for e in explanations.for_submission(accepted, peppol_undelivered=True)] == ["peppol-undelivered"]


def test_duplicate_says_the_authority_already_holds_the_number():
    with translation.override("en"):
        assert "already holds an invoice with this number" in str(explanations.DUPLICATE.meaning)


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_every_explanation_is_translated(language):
    untranslated = []
    for explanation in explanations.every_explanation():
        texts = [explanation.meaning, explanation.next_step] + ([explanation.title] if explanation.title else [])
        for text in texts:
            with translation.override("en"):
                english = str(text)
            with translation.override(language):
                if str(text) == english:
                    untranslated.append(f"{explanation.key}: {english[:60]}")
    assert untranslated == []


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_fields_to_fix_are_named_in_the_readers_language(language):
    for explanation in explanations.every_explanation():
        if explanation.fix and explanation.fix.field != "invoice_number":
            with translation.override("en"):
                english = explanation.fix.label
            with translation.override(language):
                assert explanation.fix.label, explanation.key
                if explanation.fix.field not in ("it_codice_destinatario",):  # Italian in every language
                    assert explanation.fix.label != english, (language, explanation.key)
