"""The activity feed: per administration (a tab) and per office, who did what and when, newest
first, keyset pages, filters, and the HTMX poll that brings only the rows newer than the newest shown."""

import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from accounts.models import Membership
from clearfacts_app import activity, documents
from clearfacts_app.activity import activity_record, describe
from clearfacts_app.filetypes import FileKind
from clearfacts_app.models import Activity, Document
from invoicing import services, submissions
from invoicing.models import Invoice, InvoiceLine
from tests import samples
from tests.factories import make_administration, make_document, make_user
from tests.invoicing.editor_helpers import complete_profile
from tests.invoicing.rules_examples import invoice_fields, line_fields

HTMX = {"HTTP_HX_REQUEST": "true"}


def feed_url(administration) -> str:
    return f"/administrations/{administration.company_number}/activity/"


def shown(response) -> list[int]:
    """The activity rows of a page or partial, top to bottom."""
    return [int(pk) for pk in re.findall(r'data-activity="(\d+)"', response.text)]


def record(administration, actor=None, action="document.retried", **data):
    with transaction.atomic():
        return activity_record(
            administration=administration,
            actor=actor,
            action=action,
            data={"document": 1, "filename": "factuur.pdf"} | data,
        )


def many(administration, actor, count, action="document.uploaded"):
    """`count` rows, a second apart, the newest now (bulk: the feed does not care how they were written)."""
    now = timezone.now()
    rows = Activity.objects.bulk_create(
        Activity(
            office_id=administration.office_id,
            administration=administration,
            actor=actor,
            action=action,
            data={"document": n, "filename": f"f-{n}.pdf"},
        )
        for n in range(count)
    )
    # created_at is set on insert; spread them out in time without UPDATE (the log refuses it)
    with connection.cursor() as cursor:
        for n, row in enumerate(rows):
            at = connection.ops.adapt_datetimefield_value(now - timedelta(seconds=count - n))
            cursor.execute("UPDATE clearfacts_app_activity SET created_at = %s WHERE id = %s", [at, row.pk])
    return [row.pk for row in rows]


@pytest.fixture
def no_dispatch(monkeypatch):
    monkeypatch.setattr(documents, "_dispatch", lambda pk: None)
    monkeypatch.setattr(submissions, "_dispatch", lambda pk, countdown=None: None)


def upload(administration, user) -> Document:
    return documents.document_create(
        administration=administration,
        uploaded_by=user,
        filename="factuur.pdf",
        content=ContentFile(samples.pdf()),
        sha256="a" * 64,
        kind=FileKind.PDF,
        destination=Document.Destination.INBOX,
        invoice_type=Document.InvoiceType.PURCHASE,
    )


def draft(administration, author) -> Invoice:
    invoice = Invoice(**invoice_fields("IT", invoice_number="2026-0012", payment_reference="2026-0012"))
    return services.invoice_create(
        administration=administration, author=author, invoice=invoice, lines=[InvoiceLine(**line_fields())]
    )


def test_the_feed_says_who_did_what_and_when_for_uploads_drafts_submissions_and_status_changes(
    client, administration, member, owner, viewer, no_dispatch
):
    complete_profile(administration)
    document = upload(administration, member)
    invoice = draft(administration, member)
    submission = submissions.invoice_submit(invoice=invoice, user=owner, expected_version=invoice.version)
    crashed = make_document(administration, member, filename="bon.pdf", status=Document.Status.SENDING)
    Document.objects.filter(pk=crashed.pk).update(
        sending_until=timezone.now() - timedelta(minutes=1), handed_over_at=timezone.now()
    )
    documents.documents_sweep(stale_after=timedelta(minutes=5))
    with transaction.atomic():
        locked = submissions.Submission.objects.select_for_update().get(pk=submission.pk)
        submissions._hold(locked, submissions._reason(submissions.Reason.GAVE_UP, attempts=1, number="2026-0012"))
    submissions.submission_release(submission=submission, user=owner)
    client.force_login(viewer)

    response = client.get(feed_url(administration))

    assert response.status_code == 200
    text = response.text
    assert 'data-testid="tab-activity"' in text and 'aria-selected="true"' in text
    for sentence in [
        "Jan Peeters uploaded factuur.pdf",
        "Jan Peeters drafted invoice 2026-0012",
        "Els Dupont submitted invoice 2026-0012 for clearance",
        "bon.pdf is held: someone must confirm whether to send it",
        "The submission of invoice 2026-0012 waits for a person to decide",
        "Els Dupont released the submission of invoice 2026-0012: it is a draft again",
    ]:
        assert sentence in text, sentence
    newest_first = list(Activity.objects.filter(administration=administration).values_list("pk", flat=True))
    assert shown(response) == newest_first
    assert f'href="/administrations/{administration.company_number}/documents/{document.pk}/"' in text
    assert f'href="/administrations/{administration.company_number}/invoices/{invoice.pk}/"' in text
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+" title="[^"]+">[^<]*(now|second|minute)', text)


def test_the_poll_returns_only_the_rows_newer_than_the_newest_shown_and_nothing_when_none(
    client, administration, member
):
    old = many(administration, member, 3)
    client.force_login(member)
    page = client.get(feed_url(administration))
    assert f"?after={old[-1]}" in page.text and 'hx-trigger="every 15s"' in page.text

    assert client.get(feed_url(administration), {"after": old[-1]}, **HTMX).status_code == 204

    new = [record(administration, member).pk, record(administration, member).pk]
    poll = client.get(feed_url(administration), {"after": old[-1]}, **HTMX)

    assert poll.status_code == 200
    assert shown(poll) == new[::-1]
    assert f'id="activity-poll" hx-get="{feed_url(administration)}?after={new[-1]}"' in poll.text, "the next poll"
    assert client.get(feed_url(administration), {"after": new[-1]}, **HTMX).status_code == 204


def test_an_empty_feed_polls_for_its_first_rows(client, administration, member):
    client.force_login(member)
    page = client.get(feed_url(administration))
    assert 'data-testid="no-activity"' in page.text and f"{feed_url(administration)}?after=0" in page.text
    assert client.get(feed_url(administration), {"after": 0}, **HTMX).status_code == 204

    first = record(administration, member)

    assert shown(client.get(feed_url(administration), {"after": 0}, **HTMX)) == [first.pk]


def test_the_poll_keeps_the_filters(client, administration, member, owner):
    first = record(administration, member)
    client.force_login(member)
    record(administration, owner)
    mine = record(administration, member)

    poll = client.get(feed_url(administration), {"after": first.pk, "person": member.pk}, **HTMX)

    assert shown(poll) == [mine.pk]
    assert f"?person={member.pk}&amp;after={mine.pk}" in poll.text


def test_older_rows_come_by_keyset_pages(client, administration, member):
    ids = many(administration, member, 30)
    client.force_login(member)

    first = client.get(feed_url(administration))
    assert shown(first) == ids[::-1][:25]
    assert f"?before={ids[5]}" in first.text

    older = client.get(feed_url(administration), {"before": ids[5]}, **HTMX)
    assert shown(older) == ids[::-1][25:]
    assert 'data-testid="activity-older"' not in older.text and "activity-poll" not in older.text
    # without JavaScript, the older page is a whole page
    assert shown(client.get(feed_url(administration), {"before": ids[5]})) == ids[::-1][25:]


def test_rows_written_in_the_same_instant_are_neither_skipped_nor_repeated(client, administration, member):
    ids = many(administration, member, 30)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE clearfacts_app_activity SET created_at = %s",
            [connection.ops.adapt_datetimefield_value(timezone.now())],
        )
    client.force_login(member)

    first = shown(client.get(feed_url(administration)))
    rest = shown(client.get(feed_url(administration), {"before": first[-1]}))

    assert first + rest == ids[::-1]


def test_bad_cursors_and_filters_are_ignored_not_errors(client, administration, member):
    ids = many(administration, member, 2)
    client.force_login(member)

    for params in [{"before": "x"}, {"after": "-1"}, {"kind": "nonsense"}, {"person": "abc"}, {"before": "99999999"}]:
        response = client.get(feed_url(administration), params)
        assert response.status_code == 200, params
    assert shown(client.get(feed_url(administration), {"kind": "nonsense"})) == ids[::-1]
    assert client.get(feed_url(administration), {"after": "99999999"}, **HTMX).status_code == 204


def test_filters_by_kind_and_by_person(client, administration, member, owner):
    upload = record(administration, member, action="document.uploaded")
    drafted = record(administration, owner, action="invoice.created", invoice=1, number="F-1")
    reviewed = record(administration, owner, action="invoice.review_requested", invoice=1, reviewer_name="Jan")
    commented = record(administration, member, action="comment.added", target="document", target_id=1, label="x")
    profile = record(administration, owner, action="invoicing_profile.changed")
    client.force_login(member)

    def ids(**params):
        return shown(client.get(feed_url(administration), params))

    assert ids(kind="documents") == [upload.pk]
    assert ids(kind="invoices") == [drafted.pk]
    assert ids(kind="reviews") == [reviewed.pk]
    assert ids(kind="comments") == [commented.pk]
    assert ids(kind="settings") == [profile.pk]
    assert ids(person=member.pk) == [commented.pk, upload.pk]
    assert ids(person=owner.pk, kind="invoices") == [drafted.pk]
    filtered = client.get(
        feed_url(administration), {"kind": "documents"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="activity-feed"
    )
    assert filtered.text.lstrip().startswith('<div id="activity-feed"'), "a filter's change returns the feed alone"


def test_an_outsider_gets_404_and_sees_nothing_of_another_office(client, administration, member, outsider):
    record(administration, member)
    client.force_login(outsider)

    assert client.get(feed_url(administration)).status_code == 404
    assert client.get(feed_url(administration), {"after": 0}, **HTMX).status_code == 404
    assert shown(client.get("/activity/")) == []


def test_a_colleague_without_a_grant_gets_404(client, administration, member, colleague_without_access):
    record(administration, member)
    client.force_login(colleague_without_access)

    assert client.get(feed_url(administration)).status_code == 404
    assert shown(client.get("/activity/")) == []


def test_the_feed_only_reads(client, administration, member):
    client.force_login(member)

    assert client.post(feed_url(administration)).status_code == 405
    assert client.post("/activity/").status_code == 405


def office_row(office, actor):
    with transaction.atomic():
        return activity_record(
            office=office, administration=None, actor=actor, action="clearvo_account.changed", data={"mode": "test"}
        )


def test_the_office_feed_shows_every_administration_seen_and_the_office_rows_to_its_administrators(
    client, office, administration, owner, member
):
    second = make_administration(office, "Slagerij Wouters")
    unseen = make_administration(office, "Garage Peeters")
    owner.administration_accesses.create(administration=second)
    mine = record(administration, member)
    other = record(second, owner)
    hidden = record(unseen, owner)
    office_level = office_row(office, owner)

    client.force_login(owner)
    page = client.get("/activity/")
    assert page.status_code == 200
    assert shown(page) == [office_level.pk, other.pk, mine.pk]
    assert "Els Dupont set the office&#x27;s Clearvo API key" in page.text
    assert hidden.pk not in shown(page)

    client.force_login(member)
    assert shown(client.get("/activity/")) == [mine.pk], "no office rows for a member, only what they see"


def test_a_client_user_sees_only_their_companys_rows_and_never_the_office_rows(client, office, administration, owner):
    other = make_administration(office, "Slagerij Wouters")
    owner.administration_accesses.create(administration=other)
    company_user = make_user(
        office,
        role=Membership.Role.ADMIN,
        kind=Membership.Kind.CLIENT,
        administrations=[administration],
        name="Kim Janssens",
    )
    theirs = record(administration, owner)
    record(other, owner)
    office_row(office, owner)
    client.force_login(company_user)

    assert shown(client.get("/activity/")) == [theirs.pk]
    assert shown(client.get(feed_url(administration))) == [theirs.pk]
    assert client.get(feed_url(other)).status_code == 404


def count_queries(client, url, params=None, **headers) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}, **headers).status_code in (200, 204)
    return len(queries)


@pytest.mark.parametrize("url", ["administration", "office"])
def test_the_query_count_does_not_grow_with_the_rows(
    client, administration, member, owner, url, django_assert_max_num_queries
):
    path = feed_url(administration) if url == "administration" else "/activity/"
    ids = many(administration, member, 3)
    client.force_login(member)
    page = count_queries(client, path)
    poll = count_queries(client, path, {"after": ids[0]}, **HTMX)
    older = count_queries(client, path, {"before": ids[-1]}, **HTMX)

    more = many(administration, owner, 80)
    record(administration, member, action="invoice.created", invoice=1, number="F-1")

    with django_assert_max_num_queries(page):
        client.get(path)
    with django_assert_max_num_queries(poll):
        client.get(path, {"after": more[0]}, **HTMX)
    with django_assert_max_num_queries(older):
        client.get(path, {"before": more[-1]}, **HTMX)


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", "Jan Peeters uploaded factuur.pdf"),
        ("nl", "Jan Peeters heeft factuur.pdf opgeladen"),
        ("fr", "Jan Peeters a téléversé factuur.pdf"),
    ],
)
def test_the_feed_reads_in_the_readers_language(client, administration, member, language, sentence):
    row = record(administration, member, action="document.uploaded")

    with translation.override(language):
        assert describe(row) == sentence


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", "The tax authority accepted invoice 2026-0012"),
        ("nl", "De belastingdienst heeft factuur 2026-0012 aanvaard"),
        ("fr", "L’administration fiscale a accepté la facture 2026-0012"),
    ],
)
def test_the_invoicing_codes_are_registered_by_invoicing(administration, language, sentence):
    row = record(administration, None, action="invoice.cleared", invoice=3, invoice_number="2026-0012")

    with translation.override(language):
        assert describe(row) == sentence


def test_an_unknown_code_or_missing_data_shows_the_code(client, administration, member):
    unknown = record(administration, member, action="something.new")
    broken = Activity.objects.create(
        office=administration.office, administration=administration, actor=member, action="document.uploaded", data={}
    )
    client.force_login(member)

    assert describe(unknown) == "something.new" and describe(broken) == "document.uploaded"
    assert activity.link(broken) == ""
    response = client.get(feed_url(administration))
    assert response.status_code == 200 and "something.new" in response.text


def test_the_codes_of_the_other_helpers_read_as_sentences(administration, member):
    rows = {
        "invoice.review_requested": {"invoice": 1, "invoice_number": "F-1", "reviewer_name": "Els Dupont"},
        "invoice.approved": {"invoice": 1, "invoice_number": "F-1", "version": 3},
        "invoice.back_to_review": {"invoice": 1, "invoice_number": "F-1"},
        "comment.added": {"target": "invoice", "target_id": 1, "label": "invoice F-1"},
        "comment.edited": {"target": "document", "target_id": 2, "label": "factuur.pdf"},
        "comment.deleted": {"target": "invoice", "target_id": 1, "label": "invoice F-1"},
        "access.role_changed": {"user": 9, "user_name": "Lies Maes"},
        "membership.changed": {"user": 9, "user_name": "Lies Maes"},
    }
    texts = {}
    for action, data in rows.items():
        with transaction.atomic():
            row = activity_record(
                administration=administration,
                actor=member,
                action=action,
                data=data,
                changes={"role": ["viewer", "approver"]} if action == "access.role_changed" else None,
            )
        texts[action] = describe(row)

    assert texts["invoice.review_requested"] == "Jan Peeters asked Els Dupont to review invoice F-1"
    assert texts["invoice.approved"] == "Jan Peeters approved invoice F-1"
    assert texts["comment.added"] == "Jan Peeters commented on invoice F-1"
    assert (
        texts["access.role_changed"]
        == "Jan Peeters changed the role of Lies Maes from “Reads” to “Approves and submits”"
    )
    assert all(text != action for action, text in texts.items())
