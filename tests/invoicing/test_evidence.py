"""The evidence pack (invoicing.evidence, invoicing.evidence_views): a ZIP an auditor verifies with
`sha256sum -c SHA256SUMS`, for one invoice, a list's choice or a period, streamed as it is written."""

import base64
import hashlib
import io
import json
import shutil
import subprocess
import uuid
import zipfile
from datetime import date

import pytest
from defusedxml import ElementTree
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from clearfacts_app import comments, documents
from clearfacts_app.models import Document
from clearfacts_app.roles import Role
from invoicing import books, evidence, polling, reviews, submissions
from invoicing.models import BookFiling, Exchange, Invoice, InvoiceComment, InvoicingProfile, Submission
from invoicing.submissions import submission_send
from tests.factories import make_administration, make_invoice, make_user
from tests.invoicing.editor_helpers import complete_profile
from tests.invoicing.polling_helpers import make_due, poll_until
from tests.invoicing.submit_helpers import ready_draft, submitted

SHA256SUM = shutil.which("sha256sum")
UBL_NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
PER_INVOICE = [
    "invoice.pdf",
    "invoice-ubl.xml",
    "approvals.json",
    "comments.json",
    "audit-log.json",
    "book-filing.json",
]
PER_SUBMISSION = ["request.json", "submission.json", "exchanges.json", "events.json"]


def one_click(invoice: Invoice) -> str:
    return reverse(
        "invoicing:invoice-evidence",
        kwargs={"company_number": invoice.administration.company_number, "invoice_pk": invoice.pk},
    )


DOWNLOAD = "/invoices/evidence.zip"
PERIOD_PAGE = "/invoices/evidence/"


def pack_of(response) -> zipfile.ZipFile:
    assert isinstance(response, StreamingHttpResponse)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    content = b"".join(response.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.testzip() is None
    return archive


def sums_of(archive: zipfile.ZipFile) -> dict[str, str]:
    """{path: sha256} as SHA256SUMS lists them (each line: hash, two spaces, path)."""
    lines = archive.read("SHA256SUMS").decode().splitlines()
    return {path: digest for digest, path in (line.split("  ", 1) for line in lines)}


def mismatches(archive: zipfile.ZipFile) -> list[str]:
    return [
        path for path, digest in sums_of(archive).items() if hashlib.sha256(archive.read(path)).hexdigest() != digest
    ]


def folder(invoice: Invoice) -> str:
    return f"{invoice.administration.company_number}/{evidence.path_part(invoice.invoice_number, '')}"


def numbers_in(archive: zipfile.ZipFile) -> set[str]:
    return {entry["invoiceNumber"] for entry in json.loads(archive.read("manifest.json"))["invoices"]}


# --- an invoice cleared by the sandbox's KSeF over HTTP, approved, commented on and filed in the books ---


@pytest.fixture
def quiet(monkeypatch):
    """No broker: the test runs the sends, polls and uploads itself; no outcome e-mails."""
    monkeypatch.setattr(submissions, "_dispatch", lambda pk, countdown=None: None)
    monkeypatch.setattr(submissions.notifications, "submission_outcome_notify", lambda pk: None)
    monkeypatch.setattr(polling.notifications, "submissions_outcome_notify", lambda ids: None)
    monkeypatch.setattr(documents, "_dispatch", lambda pk: None)


@pytest.fixture
def cleared(live_clearvo, settings, administration, member, colleague, quiet):
    """A Polish invoice: approved by a colleague (four eyes), commented on (one comment deleted),
    submitted, accepted by KSeF with its number, and filed in the books (the UBL sent to Clearfacts)."""
    settings.SANDBOX_TIME_FACTOR = 300  # KSeF decides in a tenth of a second
    InvoicingProfile.objects.filter(administration=administration).update(four_eyes=True)
    draft = ready_draft(administration, member, "PL")
    reviews.invoice_review_request(invoice=draft, actor=member, reviewer=colleague, expected_version=draft.version)
    reviews.invoice_approve(invoice=draft, actor=colleague, expected_version=draft.version)
    comments.comment_create(target=draft, author=colleague, body="VAT checked against the order.")
    regret = comments.comment_create(target=draft, author=member, body="Secret draft remark")
    comments.comment_delete(comment=regret, actor=member)
    submission = submitted(Invoice.objects.get(pk=draft.pk), member)
    assert submission_send(submission.pk) == Submission.State.SENT

    def accepted():
        make_due(Submission.objects.get(pk=submission.pk))
        return Submission.objects.get(pk=submission.pk).terminal

    poll_until(accepted, poll=polling.submissions_poll_due)
    filing = BookFiling.objects.get(invoice=draft)
    assert books.book_filing_prepare(filing.pk) == BookFiling.State.HANDED_OVER
    filing.refresh_from_db()
    assert documents.document_send(document_id=filing.document_id, last_attempt=False) == Document.Status.SENT
    invoice = Invoice.objects.select_related("administration").get(pk=draft.pk)
    assert invoice.status == Invoice.Status.ACCEPTED
    return invoice


@pytest.mark.slow
def test_the_pack_of_a_cleared_invoice_holds_every_file_and_verifies(client, cleared, member, colleague, tmp_path):
    invoice = cleared
    submission = invoice.submissions.get()
    client.force_login(member)

    response = client.get(one_click(invoice))

    assert response["Content-Disposition"].startswith('attachment; filename="evidence-')
    assert "no-store" in response["Cache-Control"]
    archive = pack_of(response)
    base = folder(invoice)
    expected = {f"{base}/{name}" for name in PER_INVOICE} | {f"{base}/submissions/1/{name}" for name in PER_SUBMISSION}
    assert set(archive.namelist()) == expected | {"SHA256SUMS", "manifest.json"}
    assert archive.namelist()[-1] == "manifest.json"  # computed while streaming, written last
    assert all(info.flag_bits & 0x08 for info in archive.infolist())  # streamed: sizes after the data

    # Every file verifies, and SHA256SUMS lists every file but itself and the manifest.
    assert set(sums_of(archive)) == expected and mismatches(archive) == []
    manifest = json.loads(archive.read("manifest.json"))
    assert {entry["path"]: entry["sha256"] for entry in manifest["files"]} == sums_of(archive)
    assert all(entry["size"] == len(archive.read(entry["path"])) for entry in manifest["files"])
    assert manifest["generatedBy"] == {"name": "Jan Peeters", "email": member.email}
    assert manifest["selection"] == {"invoices": [invoice.pk]}
    assert manifest["sha256sums"]["sha256"] == hashlib.sha256(archive.read("SHA256SUMS")).hexdigest()

    # The request is the exact stored body, whose hash is the one recorded when it was sent.
    request = archive.read(f"{base}/submissions/1/request.json")
    assert request == bytes(submission.body)
    assert hashlib.sha256(request).hexdigest() == submission.body_sha256
    recorded = json.loads(archive.read(f"{base}/submissions/1/submission.json"))
    ksef = submission.events.get(status="ACCEPTED").extra["kSeFNumber"]
    assert recorded["kSeFNumber"] == ksef and ksef
    assert recorded["idempotencyKey"] == str(submission.idempotency_key)
    assert recorded["bodySha256"] == submission.body_sha256
    assert recorded["referenceId"] == submission.reference_id and recorded["clearanceStatus"] == "ACCEPTED"
    assert recorded["submittedBy"] == {"name": "Jan Peeters", "email": member.email}
    assert recorded["clearedAt"].endswith("Z")

    # Every exchange, raw as Clearvo answered, with its time; the events as Clearvo reported them.
    exchanges = json.loads(archive.read(f"{base}/submissions/1/exchanges.json"))
    stored = list(submission.exchanges.order_by("started_at", "pk"))
    assert [e["responseBody"] for e in exchanges] == [e.response_body for e in stored]
    assert exchanges[0]["method"] == "POST" and exchanges[0]["statusCode"] == 200
    assert all(e["startedAt"].endswith("Z") and "durationMs" in e for e in exchanges)
    events = json.loads(archive.read(f"{base}/submissions/1/events.json"))
    assert [e["status"] for e in events] == ["PENDING", "ACCEPTED"]

    approvals = json.loads(archive.read(f"{base}/approvals.json"))
    assert approvals == [
        {
            "invoiceVersion": invoice.approvals.get().invoice_version,
            "approver": {"name": "Sara Wouters", "email": colleague.email},
            "at": approvals[0]["at"],
        }
    ]
    thread = json.loads(archive.read(f"{base}/comments.json"))
    assert [(c["deleted"], c.get("text")) for c in thread] == [(False, "VAT checked against the order."), (True, None)]
    assert b"Secret draft remark" not in b"".join(archive.read(name) for name in archive.namelist())
    log = json.loads(archive.read(f"{base}/audit-log.json"))
    actions = [row["action"] for row in log]
    assert actions.index("invoice.approved") < actions.index("invoice.submitted") < actions.index("invoice.cleared")
    assert [row["at"] for row in log] == sorted(row["at"] for row in log)
    filing = json.loads(archive.read(f"{base}/book-filing.json"))
    document = BookFiling.objects.select_related("document").get(invoice=invoice).document
    assert filing["state"] == "handed-over"
    assert filing["document"]["clearfactsId"] == document.clearfacts_uuid and document.clearfacts_uuid
    assert (filing["document"]["status"], filing["document"]["filename"]) == ("sent", document.filename)
    assert archive.read(f"{base}/invoice.pdf").startswith(b"%PDF")
    assert b"<cbc:ID>" + invoice.invoice_number.encode() in archive.read(f"{base}/invoice-ubl.xml")

    # What an auditor does: unpack, sha256sum -c; a file changed afterwards fails it.
    archive.extractall(tmp_path)
    if SHA256SUM:
        assert subprocess.run([SHA256SUM, "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True).returncode == 0
    tampered = tmp_path / base / "submissions/1/exchanges.json"
    tampered.write_bytes(tampered.read_bytes().replace(b"ACCEPTED", b"ACCEPTEd", 1))
    if SHA256SUM:
        check = subprocess.run([SHA256SUM, "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True)
        assert check.returncode != 0
        assert f"{base}/submissions/1/exchanges.json: FAILED" in check.stdout
    unpacked = {path: (tmp_path / path).read_bytes() for path in sums_of(archive)}
    assert [
        path for path, digest in sums_of(archive).items() if hashlib.sha256(unpacked[path]).hexdigest() != digest
    ] == [f"{base}/submissions/1/exchanges.json"]

    # A byte changed in what is stored changes that file's hash in the next pack, and nothing else recorded.
    exchange = submission.exchanges.order_by("started_at", "pk").first()
    Exchange.objects.filter(pk=exchange.pk).update(response_body=exchange.response_body.replace('"', "'", 1))
    again = pack_of(client.get(one_click(invoice)))
    before, after = sums_of(archive), sums_of(again)
    assert before[f"{base}/submissions/1/exchanges.json"] != after[f"{base}/submissions/1/exchanges.json"]
    assert archive.read("SHA256SUMS") != again.read("SHA256SUMS")
    for name in ("request.json", "submission.json", "events.json"):
        assert before[f"{base}/submissions/1/{name}"] == after[f"{base}/submissions/1/{name}"]


# --- the same pack without the sandbox: submissions as the outbox leaves them ---


@pytest.fixture
def profile(administration):
    return complete_profile(administration)


def issued(administration, author, number: str, *, status=Invoice.Status.ACCEPTED, on=date(2026, 3, 2)) -> Invoice:
    invoice = make_invoice(
        administration, author, invoice_number=number, issue_date=on, supplier_name=administration.name, status=status
    )
    body = json.dumps({"invoiceNumber": number}).encode()
    submission = Submission.objects.create(
        invoice=invoice,
        submitted_by=author,
        invoice_version=invoice.version,
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        idempotency_key=uuid.uuid4(),
        state=Submission.State.SENT,
        clearance_status="ACCEPTED",
        terminal=True,
    )
    Exchange.objects.create(
        submission=submission,
        method="POST",
        path="/invoices",
        started_at=timezone.now(),
        status_code=200,
        response_body='{"status": "ACCEPTED"}',
    )
    return invoice


def test_a_viewer_may_download_the_pack_and_the_invoice_page_offers_it(client, profile, administration, member, viewer):
    invoice = issued(administration, member, "2026/0042")
    client.force_login(viewer)

    archive = pack_of(client.get(one_click(invoice)))

    assert f"{administration.company_number}/2026-0042/submissions/1/request.json" in archive.namelist()
    assert mismatches(archive) == []
    # The UBL carries the very PDF of the pack.
    ubl = ElementTree.fromstring(archive.read(f"{administration.company_number}/2026-0042/invoice-ubl.xml"))
    embedded = ubl.find(".//cbc:EmbeddedDocumentBinaryObject", UBL_NS).text
    assert base64.b64decode(embedded) == archive.read(f"{administration.company_number}/2026-0042/invoice.pdf")
    page = client.get(
        reverse(
            "invoicing:invoice-detail",
            kwargs={"company_number": administration.company_number, "invoice_pk": invoice.pk},
        )
    )
    assert f'href="{one_click(invoice)}"' in page.text


def test_a_draft_has_no_pack_and_no_link(client, profile, administration, member):
    draft = make_invoice(administration, member, status=Invoice.Status.DRAFT)
    client.force_login(member)

    response = client.get(one_click(draft), follow=True)

    assert "A draft has no evidence yet" in response.text
    assert 'data-testid="evidence-pack"' not in response.text


def test_another_tenants_invoice_is_not_found(client, profile, administration, member, other_administration, outsider):
    theirs = issued(other_administration, outsider, "THEIRS-1")
    mine = issued(administration, member, "MINE-1")
    client.force_login(member)

    assert client.get(one_click(theirs)).status_code == 404
    assert client.get(one_click(mine).replace(f"/{mine.pk}/", f"/{theirs.pk}/")).status_code == 404


def test_a_list_choice_holds_only_the_invoices_the_person_may_read(
    client, profile, administration, member, other_administration, outsider
):
    mine = [issued(administration, member, f"MINE-{n}") for n in range(2)]
    theirs = issued(other_administration, outsider, "THEIRS-1")
    draft = make_invoice(administration, member, invoice_number="DRAFT-1", status=Invoice.Status.DRAFT)
    client.force_login(member)

    response = client.post(DOWNLOAD, {"invoice": [mine[0].pk, mine[1].pk, theirs.pk, draft.pk, "x"]})

    archive = pack_of(response)
    assert numbers_in(archive) == {"MINE-0", "MINE-1"}
    assert not any(name.startswith(other_administration.company_number) for name in archive.namelist())
    assert json.loads(archive.read("manifest.json"))["selection"] == {"invoices": sorted(i.pk for i in mine)}
    assert mismatches(archive) == []


def test_a_choice_of_nothing_readable_says_so_and_downloads_nothing(
    client, profile, administration, member, other_administration, outsider
):
    theirs = issued(other_administration, outsider, "THEIRS-1")
    client.force_login(member)

    response = client.post(DOWNLOAD, {"invoice": [theirs.pk], "next": "/invoices/?status=accepted"}, follow=True)

    assert response.redirect_chain == [("/invoices/?status=accepted", 302)]
    assert "None of the chosen invoices has evidence you can see." in response.text


def test_the_list_offers_the_evidence_of_the_chosen_invoices(client, profile, administration, member):
    issued(administration, member, "MINE-1")
    client.force_login(member)

    text = client.get("/invoices/").text

    assert f'formaction="{DOWNLOAD}"' in text and 'data-testid="bulk-evidence-button"' in text
    assert f'href="{PERIOD_PAGE}"' in text


def test_a_period_pack_holds_the_periods_invoices_of_the_status_asked(client, profile, administration, member):
    issued(administration, member, "MARCH-1", on=date(2026, 3, 2))
    issued(administration, member, "MARCH-REJ", on=date(2026, 3, 3), status=Invoice.Status.REJECTED)
    issued(administration, member, "APRIL-1", on=date(2026, 4, 2))
    client.force_login(member)
    assert client.get(PERIOD_PAGE).status_code == 200

    response = client.get(DOWNLOAD, {"issued_from": "2026-03-01", "issued_to": "2026-03-31", "status": "accepted"})

    assert response["Content-Disposition"] == 'attachment; filename="evidence-all-2026-03-01-2026-03-31.zip"'
    archive = pack_of(response)
    assert numbers_in(archive) == {"MARCH-1"}
    selection = json.loads(archive.read("manifest.json"))["selection"]
    assert selection == {
        "administration": "",
        "issuedFrom": "2026-03-01",
        "issuedTo": "2026-03-31",
        "status": "accepted",
    }
    every = pack_of(client.get(DOWNLOAD, {"issued_from": "2026-03-01", "issued_to": "2026-04-30", "status": "any"}))
    assert numbers_in(every) == {"MARCH-1", "MARCH-REJ", "APRIL-1"}


def test_a_client_user_gets_only_their_companies_invoices_for_a_period(client, profile, office, administration, member):
    issued(administration, member, "OURS-1")
    elsewhere = make_administration(office, "Slagerij Peeters BV")
    complete_profile(elsewhere)
    issued(elsewhere, member, "NOT-THEIRS-1")
    customer = make_user(
        office,
        administrations=[administration],
        administration_role=Role.VIEWER,
        kind=Membership.Kind.CLIENT,
        name="Carla Client",
    )
    client.force_login(customer)

    archive = pack_of(
        client.get(DOWNLOAD, {"issued_from": "2026-01-01", "issued_to": "2026-12-31", "status": "accepted"})
    )
    assert numbers_in(archive) == {"OURS-1"}
    # As everywhere, a client user is shown the office's associates by name, not their e-mail address.
    text = b"".join(archive.read(name) for name in archive.namelist()).decode(errors="replace")
    assert member.get_full_name() in text and member.email not in text

    # Naming the other company is not a way in: it is not among the choices.
    response = client.get(
        DOWNLOAD,
        {
            "company": elsewhere.company_number,
            "issued_from": "2026-01-01",
            "issued_to": "2026-12-31",
            "status": "accepted",
        },
        follow=True,
    )
    assert not isinstance(response, StreamingHttpResponse)
    assert 'data-field-error="company"' in response.text


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"issued_from": "2026-03-31", "issued_to": "2026-03-01", "status": "accepted"}, "swap the two dates"),
        ({"issued_from": "someday", "issued_to": "2026-03-01", "status": "accepted"}, 'data-field-error="issued_from"'),
        ({"issued_to": "2026-03-01", "status": "accepted"}, 'data-field-error="issued_from"'),
        ({"issued_from": "2026-03-01", "issued_to": "2026-03-31", "status": "draft"}, 'data-field-error="status"'),
        (
            {"issued_from": "2027-01-01", "issued_to": "2027-01-31", "status": "accepted"},
            "No invoice matches this period",
        ),
    ],
)
def test_bad_input_says_why_and_downloads_nothing(client, profile, administration, member, query, problem):
    issued(administration, member, "MARCH-1")
    client.force_login(member)

    response = client.get(DOWNLOAD, query, follow=True)

    assert response.status_code == 200 and not isinstance(response, StreamingHttpResponse)
    assert response.redirect_chain[0][0].startswith(PERIOD_PAGE)
    assert problem in response.text


def test_a_period_of_too_many_invoices_asks_to_narrow_it(client, profile, administration, member, monkeypatch):
    from invoicing import evidence_views

    monkeypatch.setattr(evidence_views, "LIMIT", 2)
    for n in range(3):
        issued(administration, member, f"MANY-{n}")
    client.force_login(member)

    response = client.get(
        DOWNLOAD, {"issued_from": "2026-01-01", "issued_to": "2026-12-31", "status": "accepted"}, follow=True
    )

    assert not isinstance(response, StreamingHttpResponse)
    assert "3 invoices match: a pack holds at most 2. Narrow the period." in response.text


def test_the_pack_is_streamed_a_file_at_a_time_and_read_a_chunk_at_a_time(
    client, profile, administration, member, monkeypatch
):
    monkeypatch.setattr(evidence, "CHUNK_SIZE", 1)
    invoices = [issued(administration, member, f"STREAM-{n}") for n in range(3)]
    client.force_login(member)

    response = client.post(DOWNLOAD, {"invoice": [invoice.pk for invoice in invoices]})
    assert isinstance(response, StreamingHttpResponse)
    stream = iter(response.streaming_content)
    first = next(stream)
    # The last invoice is read only when its turn comes: a comment written now is in the pack.
    InvoiceComment.objects.create(
        invoice=invoices[-1], administration=administration, author=member, body="Written during the download"
    )
    chunks = [first, *stream]

    content = b"".join(chunks)
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.testzip() is None and mismatches(archive) == []
    files = len(archive.namelist())
    assert len(chunks) >= files  # one chunk per file at least (and the central directory)
    assert max(len(chunk) for chunk in chunks) < len(content) / 2
    comments_of_last = json.loads(archive.read(f"{folder(invoices[-1])}/comments.json"))
    assert [c["text"] for c in comments_of_last] == ["Written during the download"]


def test_the_pack_opens_with_unzip(client, profile, administration, member, tmp_path):
    invoice = issued(administration, member, "UNZIP-1")
    client.force_login(member)
    path = tmp_path / "pack.zip"
    path.write_bytes(b"".join(client.get(one_click(invoice)).streaming_content))

    if not shutil.which("unzip"):
        pytest.skip("no unzip on this machine")
    result = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and "No errors detected" in result.stdout


def test_numbers_that_read_alike_as_paths_get_folders_of_their_own(profile, administration, member):
    first, second = issued(administration, member, "A/1"), issued(administration, member, "A-1")

    content = b"".join(evidence.evidence_stream(invoices=Invoice.objects.filter(pk__in=[first.pk, second.pk])))

    folders = {
        entry["folder"] for entry in json.loads(zipfile.ZipFile(io.BytesIO(content)).read("manifest.json"))["invoices"]
    }
    assert len(folders) == 2 and all(".." not in f and not f.startswith("/") for f in folders)


def test_a_chunk_of_invoices_is_read_with_a_few_queries_not_a_few_per_invoice(profile, administration, member):
    invoices = [issued(administration, member, f"CHUNK-{n}") for n in range(6)]
    for invoice in invoices:
        InvoiceComment.objects.create(invoice=invoice, administration=administration, author=member, body="Seen")

    def queries(chosen) -> int:
        with CaptureQueriesContext(connection) as captured:
            b"".join(evidence.evidence_stream(invoices=Invoice.objects.filter(pk__in=[i.pk for i in chosen])))
        return len(captured.captured_queries)

    # Submissions, exchanges, events, approvals, comments, filings and audit log: per chunk. Only the
    # PDF's authority reference (invoicing.pdf) is read per invoice.
    assert queries(invoices) - queries(invoices[:1]) <= len(invoices) - 1


def test_each_download_is_in_the_audit_log(client, profile, administration, member):
    from clearfacts_app.models import Activity

    one = issued(administration, member, "LOG-1")
    issued(administration, member, "LOG-2")
    client.force_login(member)

    b"".join(client.get(one_click(one)).streaming_content)
    b"".join(
        client.get(
            DOWNLOAD, {"issued_from": "2026-01-01", "issued_to": "2026-12-31", "status": "accepted"}
        ).streaming_content
    )

    rows = list(Activity.objects.filter(action__endswith="evidence_downloaded").order_by("pk"))
    assert [(row.action, row.actor) for row in rows] == [
        ("invoice.evidence_downloaded", member),
        ("invoices.evidence_downloaded", member),
    ]
    assert rows[0].data["number"] == "LOG-1" and rows[1].data["count"] == 2
