"""Every activity row the portal writes reads as a sentence in the feed and the audit log, in
English, Dutch and French, and links to the page of its object: rows are made by the real services
(or, where a service needs Clearvo or Clearfacts, with the exact data its writer builds)."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Membership
from clearfacts_app import activity, comments, documents, people
from clearfacts_app.activity import DESCRIPTIONS, activities_record, activity_record, describe, entries, link
from clearfacts_app.filetypes import FileKind
from clearfacts_app.models import Activity, AdministrationAccess, Document
from clearfacts_app.roles import Role
from clearfacts_app.tasks import send_document
from invoicing import buyer_mail, buyers, cockpit_actions, evidence_views, profiles, reviews, services, watchdog
from invoicing.models import Buyer, Invoice, InvoiceLine, StatusLimit
from tests import samples
from tests.factories import make_document, make_invoice, make_user
from tests.invoicing.editor_helpers import complete_profile
from tests.invoicing.notification_helpers import make_submission
from tests.invoicing.rules_examples import invoice_fields, line_fields

LANGUAGES = ("en", "nl", "fr")
SOURCES = ("accounts", "clearfacts_app", "invoicing", "portal")
# What the writers put in the action: a literal, or the codes of a table (polling) or a constant.
WRITTEN = re.compile(
    r"""action\s*=\s*(?P<f>f?)"(?P<code>[^"]+)"|_activity\(\s*read,\s*"(?P<read>[^"]+)"|"""
    r"""^\s*(?:Status\.\w+|[A-Z_]+(?:,\s*[A-Z_]+)*)\s*[:=]\s*(?P<constant>"[a-z_]+\.[a-z_]+"(?:,\s*"[a-z_]+\.[a-z_]+")*)""",
    re.MULTILINE,
)


def written_codes() -> tuple[set[str], set[str]]:
    """The action codes the code base writes, and the f-string patterns it writes them with."""
    codes, patterns, constants = set(), set(), set()
    root = Path(settings.BASE_DIR)
    for folder in SOURCES:
        for path in (root / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for match in WRITTEN.finditer(path.read_text(encoding="utf-8")):
                if match["code"] and match["f"]:
                    patterns.add(match["code"])
                elif match["code"] or match["read"]:
                    codes.add(match["code"] or match["read"])
                else:
                    constants.update(re.findall(r'"([^"]+)"', match["constant"]))
    # A constant or table value is an action code when it starts as the literals do ("invoice.").
    prefixes = {code.partition(".")[0] for code in codes}
    return codes | {code for code in constants if code.partition(".")[0] in prefixes}, patterns


def test_every_action_code_the_code_base_writes_is_registered():
    codes, patterns = written_codes()

    assert {"comment.added", "invoice.review_requested", "document.status_changed", "invoice.cleared"} <= codes
    assert {"invoice.email_sent", "access.role_changed", "membership.changed"} <= codes
    assert codes - set(DESCRIPTIONS) == set(), "codes written but not described in the feed"
    for pattern in patterns:  # action=f"…{x}…": one registered code at least must fit
        fits = re.compile(re.sub(r"\\\{[^}]*\\\}", ".+", re.escape(pattern)) + "$")
        assert any(fits.match(code) for code in DESCRIPTIONS), pattern


# --- reading each row -----------------------------------------------------------------------


def texts(row: Activity) -> dict[str, str]:
    said = {}
    for language in LANGUAGES:
        with translation.override(language):
            said[language] = describe(row)
    return said


def assert_reads_well(row: Activity) -> dict[str, str]:
    said = texts(row)
    for language, text in said.items():
        assert text.strip() and text != row.action, (language, row.action, row.data)
        assert "%(" not in text and ")s" not in text, (language, row.action, text)
    assert said["nl"] != said["en"] and said["fr"] != said["en"], (row.action, said)  # translated
    return said


@pytest.fixture
def broker(monkeypatch):
    monkeypatch.setattr(send_document, "delay", lambda *args, **kwargs: None)


@pytest.fixture
def approver(office, administration):
    return make_user(office, administrations=[administration], administration_role=Role.APPROVER, name="Sara Wouters")


def invoice_url(invoice) -> str:
    return reverse("invoicing:invoice-detail", args=[invoice.administration.company_number, invoice.pk])


def document_url(document) -> str:
    return reverse("clearfacts_app:document-detail", args=[document.administration.company_number, document.pk])


def fresh(invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def edit(invoice, editor) -> Invoice:
    invoice = fresh(invoice)
    invoice.buyer_city = "Torino" if invoice.buyer_city != "Torino" else "Roma"
    return services.invoice_update(
        invoice=invoice, editor=editor, expected_version=invoice.version, lines=list(invoice.lines.all())
    )


def writer_copy(administration, action: str, data: dict, *, actor=None, **fields) -> Activity:
    """A row as a writer that needs Clearvo or Clearfacts builds it (its exact data)."""
    with transaction.atomic():
        return activity_record(administration=administration, actor=actor, action=action, data=data, **fields)


def document_rows(administration, member):
    uploaded = documents.document_create(
        administration=administration,
        uploaded_by=member,
        filename="factuur.pdf",
        content=ContentFile(samples.pdf()),
        sha256="a" * 64,
        kind=FileKind.PDF,
        destination=Document.Destination.INBOX,
        invoice_type=Document.InvoiceType.PURCHASE,
    )
    held = make_document(administration, member, filename="held.pdf", status=Document.Status.HELD)
    failed = make_document(administration, member, filename="failed.pdf", status=Document.Status.FAILED)
    waiting = make_document(administration, member, filename="waiting.pdf", status=Document.Status.NEEDS_SIGN_IN)
    cancelled = make_document(administration, member, filename="cancel.pdf", status=Document.Status.FAILED)
    for document in (held, failed, cancelled):
        document.file.save(document.filename, io.BytesIO(samples.pdf()), save=True)
    documents.document_send_anyway(document=held, actor=member)
    documents.document_retry(document=failed, actor=member)
    documents.document_cancel(document=cancelled, actor=member)
    documents.documents_resume(user_id=member.pk)  # the bulk rows of a sign-in
    with transaction.atomic():  # the sweeper's bulk rows, as documents._status_rows builds them
        activities_record(
            documents._status_rows(
                [(uploaded.pk, uploaded.filename, administration.pk, administration.office_id)],
                Document.Status.SENDING,
                Document.Status.HELD,
                reason="outcome-unknown",
            )
        )
    writer_copy(
        administration,
        "document.status_changed",
        {"document": waiting.pk, "filename": waiting.filename, "status": Document.Status.SENT, "reason": ""},
    )
    return uploaded


@pytest.fixture
def every_row(office, administration, owner, member, approver, broker, django_capture_on_commit_callbacks):
    """One row (at least) of every code the portal writes; the objects they are about."""
    complete_profile(administration, four_eyes=True)
    # documents
    uploaded = document_rows(administration, member)
    # invoices and their four eyes
    draft = services.invoice_create(
        administration=administration,
        author=member,
        invoice=Invoice(**invoice_fields("IT", invoice_number="2026-0007")),
        lines=[InvoiceLine(**line_fields())],
    )
    draft = edit(draft, member)
    reviews.invoice_review_request(
        invoice=draft, actor=member, reviewer=approver, expected_version=fresh(draft).version
    )
    reviews.invoice_approve(invoice=draft, actor=approver, expected_version=fresh(draft).version)
    edit(draft, member)  # an approved draft changed: back to review
    copy = services.invoice_duplicate(invoice=draft, actor=member)
    services.invoice_delete(invoice=copy, actor=member)
    accepted = make_invoice(administration, member, invoice_number="2026-0008", status=Invoice.Status.ACCEPTED)
    services.credit_note_create(original=accepted, actor=member)
    rejected = make_invoice(administration, member, invoice_number="2026-0009", status=Invoice.Status.REJECTED)
    services.invoice_reopen(invoice=rejected, user=member)
    # comments, on an invoice and on a document
    for target in (draft, uploaded):
        comment = comments.comment_create(target=target, author=member, body="@Sara Wouters kijk je even?")
        comments.comment_edit(comment=comment, actor=member, body="Kijk je even?")
        comments.comment_delete(comment=comment, actor=member)
    # people and settings
    access = AdministrationAccess.objects.get(user=approver, administration=administration)
    people.access_role_set(access=access, actor=owner, role=Role.MANAGER)
    profile = profiles.profile_for(administration)
    profile.city = "Brugge"
    profiles.profile_save(profile=profile, actor=member)
    buyer = buyers.buyer_create(
        administration=administration,
        actor=member,
        buyer=Buyer(name="Rossi Forniture Srl", city="Milano", country="IT", email="fatture@rossi.example"),
    )
    buyer.city = "Roma"
    buyers.buyer_update(buyer=buyer, actor=member)
    services.clearvo_account_save(office=office, api_key="cv_test_" + "a" * 32, user=owner)
    services.clearvo_account_remove(office=office, user=owner)
    # e-mail to the buyer
    Invoice.objects.filter(pk=accepted.pk).update(buyer=buyer)
    request = buyer_mail.invoice_email_request(invoice=fresh(accepted), user=member)
    buyer_mail.invoice_email_failed(request_id=request.pk, reason="mail server refused")
    writer_copy(  # invoice_email_deliver's row (it sends the PDF first)
        administration,
        buyer_mail.SENT,
        {key: request.data[key] for key in ("invoice", "number", "to", "language")} | {"request": request.pk},
        actor=member,
    )
    buyers.buyer_delete(buyer=buyer, actor=member)
    with transaction.atomic():  # clearfacts_app.sync.sync_user's row
        activity_record(
            office=office,
            administration=None,
            actor=None,
            action="membership.changed",
            data={"user": member.pk, "name": member.get_full_name() or member.email},
            changes={"role": [Membership.Role.MEMBER, Membership.Role.ADMIN]},
        )
    # the submission and its status checks (Clearvo): as invoicing.submissions._record and polling._activity build them
    submission = {"invoice": accepted.pk, "number": accepted.invoice_number, "submission": 1}
    for code, extra, actor in [
        ("invoice.submitted", {"version": 2, "mode": "test"}, member),
        ("invoice.sent", {"reference": "ref-1", "status": 200}, None),
        ("invoice.submission_retrying", {"attempts": 2, "reason": "timeout"}, None),
        ("invoice.submission_held", {"reason": "outcome-unknown"}, member),
        ("invoice.submission_refused", {"status": 422, "violations": 2}, None),
        ("invoice.submission_failed", {"reason": "conflict"}, None),
        ("invoice.submission_retried", {"attempts": 3}, member),
        ("invoice.submission_released", {}, member),
    ]:
        writer_copy(administration, code, submission | extra, actor=actor)
    checked = {"invoice": accepted.pk, "invoice_number": accepted.invoice_number, "submission": 1}
    status = {"reference_id": "ref-1", "status": "ACCEPTED"}
    for code, extra in [
        ("invoice.clearance_pending", status),
        ("invoice.cleared", status),
        ("invoice.rejected", status | {"source": "SDI", "code": "00305"}),
        ("invoice.duplicate", status),
        ("invoice.undelivered", status | {"mc_deadline": "2026-12-01"}),
        ("invoice.undelivered_deadline", status | {"mc_deadline": "2026-12-01"}),
        ("invoice.status_checks_stopped", {"reason": "key-refused"}),
    ]:
        with transaction.atomic():
            activities_record(
                [
                    Activity(
                        office_id=office.pk,
                        administration=administration,
                        actor=None,
                        action=code,
                        data=checked | extra,
                    )
                ]
            )
    writer_copy(administration, "invoice.supplier_refreshed", {"invoice": draft.pk, "number": draft.invoice_number})
    # the clearance queue's actions (invoicing.cockpit_actions): assigning for real, the others as they write them
    items = [f"invoice:{accepted.pk}", f"document:{uploaded.pk}"]
    cockpit_actions.items_assign(user=member, keys=items, assignee=approver)
    cockpit_actions.items_assign(user=member, keys=items, assignee=None)
    for code in ("invoice.status_check_requested", "invoice.submission_held_by_person"):
        writer_copy(administration, code, submission, actor=member)
    writer_copy(
        administration,
        "invoice.book_filing_retried",
        {"invoice": accepted.pk, "number": accepted.invoice_number, "filing": 1},
        actor=member,
    )
    # the stale-status watchdog's alert: a real run over a Polish invoice pending past its ten minutes
    stuck = make_invoice(
        administration, member, invoice_number="2026-0010", country="PL", status=Invoice.Status.PENDING
    )
    StatusLimit.objects.get_or_create(country="PL", status="PENDING", defaults={"first_after": timedelta(minutes=10)})
    since = timezone.now() - timedelta(minutes=11)
    make_submission(stuck, member, state="sent", clearance_status="PENDING", status_since=since)
    assert watchdog.stale_statuses_alert() == 1
    # a number the authority already had: as invoicing.duplicates.duplicate_adopt and duplicate_renumber build them
    earlier = {
        "submission": 1,
        "invoice": accepted.pk,
        "idempotency_key": "0b8f6a5e-4d1c-4f3a-9a57-2f7f3c1d9e21",
        "body_sha256": "a" * 64,
        "sent_at": "2026-11-28T09:30:00+00:00",
        "submitted_by": member.email,
        "reference_id": "IT-20261128-ABC123",
    }
    writer_copy(
        administration,
        "invoice.duplicate_adopted",
        {"invoice": accepted.pk, "number": accepted.invoice_number, "submission": 2, "earlier": earlier},
        actor=member,
        changes={"status": ["rejected", "accepted"]},
    )
    writer_copy(
        administration,
        "invoice.renumbered",
        {"invoice": draft.pk, "number": "2026-0010", "submission": 2, "version": 5},
        actor=member,
        changes={"invoice_number": ["2026-0001", "2026-0010"], "status": ["duplicate", "draft"]},
    )
    # the evidence pack's downloads, as its views record them: of one invoice, and of several
    evidence_views.evidence_download_record(member, Invoice.objects.filter(pk=accepted.pk))
    evidence_views.evidence_download_record(member, Invoice.objects.filter(pk__in=[accepted.pk, draft.pk]))
    return {"draft": draft, "accepted": accepted, "uploaded": uploaded}


def test_every_code_written_reads_as_a_sentence_in_each_language_and_links_to_its_page(every_row, administration):
    codes, _patterns = written_codes()
    rows = list(Activity.objects.select_related("actor", "administration").order_by("pk"))

    assert codes <= {row.action for row in rows}, "a code the portal writes has no row in this test"
    for row in rows:
        assert_reads_well(row)
        url = link(row)
        number = administration.company_number
        if row.action.startswith("comment."):
            page = "invoicing:invoice-detail" if row.data["target"] == "invoice" else "clearfacts_app:document-detail"
            assert url == f"{reverse(page, args=[number, row.data['id']])}#comment-{row.data['comment']}", row.action
        elif "invoice" in row.data and row.action != "invoice.deleted":
            assert url == reverse("invoicing:invoice-detail", args=[number, row.data["invoice"]]), row.action
        elif "document" in row.data:
            assert url == reverse("clearfacts_app:document-detail", args=[number, row.data["document"]]), row.action
        elif row.action in ("buyer.created", "buyer.changed"):
            assert url == reverse("invoicing:buyer-edit", args=[number, row.data["buyer"]]), row.action
        elif row.action == "invoicing_profile.changed":
            assert url == reverse("invoicing:profile", args=[number]), row.action


def sentence(action: str, language: str = "en", **filters) -> str:
    row = Activity.objects.filter(action=action, **filters).order_by("pk").first()
    with translation.override(language):
        return describe(row)


def test_a_comment_row_names_what_was_commented_on(every_row, administration):
    draft, uploaded = every_row["draft"], every_row["uploaded"]

    assert sentence("comment.added", data__target="invoice") == "Jan Peeters commented on invoice 2026-0007"
    assert sentence("comment.edited", data__target="document") == "Jan Peeters edited a comment on factuur.pdf"
    assert sentence("comment.deleted", "nl", data__target="invoice") == (
        "Jan Peeters heeft een opmerking bij factuur 2026-0007 verwijderd"
    )
    assert sentence("comment.added", "fr", data__target="invoice") == "Jan Peeters a commenté la facture 2026-0007"
    row = Activity.objects.filter(action="comment.added", data__target="document").get()
    assert link(row) == f"{document_url(uploaded)}#comment-{row.data['comment']}"
    row = Activity.objects.filter(action="comment.added", data__target="invoice").get()
    assert link(row) == f"{invoice_url(draft)}#comment-{row.data['comment']}"


def test_a_review_request_names_the_reviewer_read_from_the_user_row(every_row):
    assert sentence("invoice.review_requested") == "Jan Peeters asked Sara Wouters to review invoice 2026-0007"


def test_a_role_change_names_the_person(every_row):
    assert sentence("access.role_changed") == (
        f"Els Dupont changed the role of Sara Wouters from “{Role.APPROVER.label}” to “{Role.MANAGER.label}”"
    )
    assert "Sara Wouters" in sentence("access.role_changed", "nl") and "Sara Wouters" in sentence(
        "access.role_changed", "fr"
    )
    assert "Jan Peeters" in sentence("membership.changed")


def test_the_reviewers_of_a_page_are_read_in_one_query(administration, member, approver, owner):
    with transaction.atomic():
        rows = [
            activity_record(
                administration=administration,
                actor=member,
                action="invoice.review_requested",
                data={"invoice": n, "number": f"F-{n}", "version": 1, "reviewer": reviewer.pk},
            )
            for n, reviewer in enumerate([approver, owner, approver], 1)
        ]
    rows = list(Activity.objects.filter(pk__in=[row.pk for row in rows]).select_related("actor", "administration"))

    with CaptureQueriesContext(connection) as queries:
        shown = entries(rows)

    assert len(queries) == 1
    assert sorted(entry.text for entry in shown) == [
        "Jan Peeters asked Els Dupont to review invoice F-2",
        "Jan Peeters asked Sara Wouters to review invoice F-1",
        "Jan Peeters asked Sara Wouters to review invoice F-3",
    ]


def test_a_reviewer_who_is_gone_is_a_colleague(administration, member):
    with transaction.atomic():
        row = activity_record(
            administration=administration,
            actor=member,
            action="invoice.review_requested",
            data={"invoice": 1, "number": "F-1", "version": 1, "reviewer": 999999},
        )

    assert describe(row) == "Jan Peeters asked a colleague to review invoice F-1"
    assert activity.link(row) == reverse("invoicing:invoice-detail", args=[administration.company_number, 1])
