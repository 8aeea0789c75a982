"""The clearance queue: each problem enters when its cause arises and leaves when it is resolved,
most urgent first, for the people who may see it and nobody else; the page, its filters and counts."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import Membership
from clearfacts_app import documents
from clearfacts_app.models import Document
from clearfacts_app.roles import Role
from invoicing import books, cockpit, services, submissions
from invoicing.cockpit import Problem
from invoicing.models import BookFiling, Invoice, Submission
from tests.factories import make_administration, make_invoice, make_user
from tests.invoicing import cockpit_helpers as make
from tests.invoicing.clearance_helpers import make_submission

Status, State, Clearance = Invoice.Status, Submission.State, Submission.ClearanceStatus
URL = "/office/clearance/"


@pytest.fixture
def sent_nowhere(monkeypatch):
    """Retried sends and documents stay out of the broker: what they were sent is recorded."""
    dispatched = []
    monkeypatch.setattr(submissions, "_dispatch", lambda pk, countdown=None: dispatched.append(pk))
    monkeypatch.setattr(documents, "_dispatch", dispatched.append)
    return dispatched


@pytest.fixture
def second(office, member):
    """A second client company of the office, which the member sees too."""
    company = make_administration(office, "Brouwerij De Leeuw NV")
    member.administration_accesses.create(administration=company, role=Role.APPROVER)
    return company


def queue(user, **filters) -> list[tuple[str, str]]:
    return [(item.problem.value, item.label) for item in cockpit.queue_items(user=user, **filters).items]


def problems_of(user) -> dict[str, str]:
    return {item.label: item.problem.value for item in cockpit.queue_items(user=user).items}


def signed_in(client, user, language="en"):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def rows(page: str) -> list[str]:
    return re.findall(r'data-testid="cockpit-item" data-key="([^"]+)"', page)


# --- each problem: in when its cause arises, out when it is resolved ---


def test_an_undelivered_invoice_near_its_deadline_is_in_until_the_sdi_delivers_it(administration, member):
    submission = make.undelivered(administration, member, invoice_number="IT-UND")

    [item] = cockpit.queue_items(user=member).items
    assert (item.problem, item.key, item.due) == (
        Problem.UNDELIVERED,
        f"invoice:{submission.invoice_id}",
        submission.mc_deadline,
    )
    assert "deliver" in item.reason.lower()

    # The poller records the delivery (ACCEPTED, terminal), as invoicing.polling writes it.
    Submission.objects.filter(pk=submission.pk).update(
        clearance_status=Clearance.ACCEPTED, terminal=True, status_since=timezone.now(), next_poll_at=None
    )
    Invoice.objects.filter(pk=submission.invoice_id).update(status=Status.ACCEPTED)
    assert queue(member) == []


def test_an_undelivered_invoice_past_its_deadline_is_in_without_an_alert(administration, member):
    invoice = make_invoice(administration, member, invoice_number="IT-LATE", status=Status.UNDELIVERED)
    make_submission(
        invoice,
        member,
        clearance_status=Clearance.UNDELIVERED,
        status_since=make.ago(days=11),
        mc_deadline=make.ago(hours=1),
        reason_code="undelivered-deadline",
        reason_params={"mc_deadline": make.ago(hours=1).isoformat()},
    )

    assert queue(member) == [("undelivered", "IT-LATE")]
    [item] = cockpit.queue_items(user=member).items
    assert item.reason == "Still not delivered after the deadline: tell the buyer by other means."


def test_a_pending_invoice_past_its_limit_is_stuck_until_the_authority_answers(administration, member):
    submission = make.stuck(administration, member, invoice_number="PL-STUCK")
    assert queue(member) == [("stuck", "PL-STUCK")]
    [item] = cockpit.queue_items(user=member).items
    assert item.since == submission.status_since and item.due is None
    assert "Pending at the authority" in item.reason

    Submission.objects.filter(pk=submission.pk).update(
        clearance_status=Clearance.ACCEPTED, terminal=True, status_since=timezone.now()
    )
    Invoice.objects.filter(pk=submission.invoice_id).update(status=Status.ACCEPTED)
    assert queue(member) == []


def test_a_pending_invoice_without_an_alert_is_not_in(administration, member):
    submission = make.stuck(administration, member)
    submission.alerts.all().delete()
    assert queue(member) == []


def test_an_alert_of_an_earlier_status_does_not_count(administration, member):
    """Alerted while PENDING, then UNDELIVERED (not yet alerted for that): not stuck any more."""
    submission = make.stuck(administration, member)
    Submission.objects.filter(pk=submission.pk).update(
        clearance_status=Clearance.UNDELIVERED,
        status_since=timezone.now(),
        mc_deadline=timezone.now() + timedelta(days=9),
    )
    assert queue(member) == []


def test_an_unconfirmed_send_is_stuck_until_a_person_retries_it(administration, member, sent_nowhere):
    submission = make.unconfirmed(administration, member, invoice_number="SEND-1")
    assert queue(member) == [("stuck", "SEND-1")]

    submissions.submission_retry(submission=submission, user=member)

    assert sent_nowhere == [submission.pk]
    assert queue(member) == []  # the alert was of the send before the retry


def test_a_held_send_is_unknown_until_released(administration, member):
    submission = make.held(administration, member, invoice_number="HELD-1")
    [item] = cockpit.queue_items(user=member).items
    assert (item.problem, item.label) == (Problem.UNKNOWN, "HELD-1")
    assert "Clearvo may have received invoice HELD-1" in item.reason

    submissions.submission_release(submission=submission, user=member)

    assert queue(member) == []


def test_a_duplicate_is_in_until_the_earlier_outcome_is_adopted(administration, member):
    submission = make.duplicate(administration, member, invoice_number="DUP-1")
    [item] = cockpit.queue_items(user=member).items
    assert (item.problem, item.label) == (Problem.DUPLICATE, "DUP-1")
    assert "The same invoice was sent before" in item.reason and "00002" in item.reason

    # Adopted (invoicing.duplicates): the earlier outcome stands, the invoice is accepted.
    Submission.objects.filter(pk=submission.pk).update(adopted_at=timezone.now(), adopted_by=member)
    Invoice.objects.filter(pk=submission.invoice_id).update(status=Status.ACCEPTED)
    assert queue(member) == []


def test_a_duplicate_leaves_when_the_draft_is_renumbered(administration, member):
    submission = make.duplicate(administration, member, match="different", invoice_number="DUP-2")
    assert queue(member) == [("duplicate", "DUP-2")]

    Invoice.objects.filter(pk=submission.invoice_id).update(status=Status.DRAFT, invoice_number="DUP-2b")
    assert queue(member) == []


def test_a_rejected_invoice_is_in_until_it_is_reopened(administration, member):
    submission = make.rejected(administration, member, invoice_number="REJ-1")
    [item] = cockpit.queue_items(user=member).items
    assert (item.problem, item.label) == (Problem.REJECTED, "REJ-1")
    assert item.reason == "SDI 00102: Partita IVA del cessionario non valida"
    assert item.since == submission.rejected_at

    services.invoice_reopen(invoice=submission.invoice, user=member)

    assert queue(member) == []


def test_a_rejected_invoice_with_the_number_taken_is_a_duplicate(administration, member):
    submission = make.rejected(administration, member, invoice_number="REJ-2")
    Submission.objects.filter(pk=submission.pk).update(duplicate="different")
    assert queue(member) == [("duplicate", "REJ-2")]


def test_a_refused_send_is_in_until_the_invoice_is_submitted_again(administration, member):
    submission = make.refused(administration, member, invoice_number="REF-1")
    [item] = cockpit.queue_items(user=member).items
    assert (item.problem, item.label) == (Problem.REFUSED, "REF-1")
    assert "buyer.taxId is not a valid Partita IVA" in item.reason

    invoice = submission.invoice
    Invoice.objects.filter(pk=invoice.pk).update(status=Status.SUBMITTING)
    make_submission(invoice, member, state=State.QUEUED)  # the new submission, as invoice_submit writes it

    assert queue(member) == []


def test_a_failed_send_of_a_frozen_invoice_is_refused(administration, member):
    invoice = make_invoice(administration, member, invoice_number="FAIL-1", status=Status.SUBMITTING)
    make_submission(invoice, member, state=State.FAILED, reason_code=Submission.Reason.KEY_REFUSED)
    [item] = cockpit.queue_items(user=member).items
    assert (item.problem, item.label) == (Problem.REFUSED, "FAIL-1")
    assert "API key" in item.reason


def test_a_failed_filing_is_in_until_it_is_filed_again(administration, member):
    filing = make.failed_filing(administration, member, invoice_number="BOOK-1")
    [item] = cockpit.queue_items(user=member).items
    assert (item.problem, item.key) == (Problem.FILING, f"invoice:{filing.invoice_id}")
    assert item.reason == "The UBL could not be built."

    assert books.book_filings_request([filing.invoice_id], requested_by=member) == [filing.pk]

    assert queue(member) == []


def test_a_filing_whose_document_failed_is_in_until_the_document_is_retried(administration, member, sent_nowhere):
    filing = make.filing_document_failed(administration, member, invoice_number="BOOK-2")
    [item] = cockpit.queue_items(user=member).items
    assert (item.problem, item.key, item.document) == (Problem.FILING, f"invoice:{filing.invoice_id}", filing.document)
    assert "Unreadable UBL" in item.reason

    assert documents.document_retry(document=filing.document, actor=member)

    assert queue(member) == []


def test_a_held_document_is_in_until_it_is_sent_anyway_and_a_failed_one_until_cancelled(
    administration, member, sent_nowhere
):
    kept = make.held_document(administration, member, "kopie.pdf")
    refused = make.held_document(administration, member, "leeg.pdf")
    Document.objects.filter(pk=refused.pk).update(status=Document.Status.FAILED)
    assert sorted(queue(member)) == [("document", "kopie.pdf"), ("document", "leeg.pdf")]
    assert {item.key for item in cockpit.queue_items(user=member).items} == {
        f"document:{kept.pk}",
        f"document:{refused.pk}",
    }

    assert documents.document_send_anyway(document=kept, actor=member)
    assert documents.document_cancel(document=Document.objects.get(pk=refused.pk), actor=member)

    assert queue(member) == []


def test_a_document_waiting_for_a_sign_in_is_in(administration, member):
    make.held_document(administration, member, "wacht.pdf", reason_params={"user": "An"})
    Document.objects.update(status=Document.Status.NEEDS_SIGN_IN, reason_code=Document.Reason.SIGN_IN_REFUSED)
    [item] = cockpit.queue_items(user=member).items
    assert item.problem == Problem.DOCUMENT and "An" in item.reason


def test_what_needs_nobody_is_never_in(administration, member):
    make.closed_invoices(administration, member, 6)  # accepted, and pending within their limits
    make_invoice(administration, member, status=Status.DRAFT)
    make.held_document(administration, member)
    Document.objects.update(status=Document.Status.SENT)
    BookFiling.objects.create(invoice=Invoice.objects.filter(status=Status.ACCEPTED).first())
    assert queue(member) == []


# --- most urgent first ---


def test_the_queue_is_in_urgency_order(administration, second, member):
    make.held_document(administration, member, "doc.pdf")
    make.failed_filing(administration, member, invoice_number="FILING")
    make.refused(second, member, invoice_number="REFUSED")
    make.rejected(administration, member, invoice_number="REJECTED")
    make.duplicate(second, member, invoice_number="DUPLICATE")
    make.held(administration, member, invoice_number="UNKNOWN")
    make.stuck(second, member, invoice_number="STUCK-RECENT", pending_for=timedelta(hours=5))
    make.stuck(administration, member, invoice_number="STUCK-OLD", pending_for=timedelta(hours=30))
    make.undelivered(administration, member, invoice_number="UND-LATER", deadline_in=timedelta(days=2))
    make.undelivered(second, member, invoice_number="UND-SOONER", deadline_in=timedelta(hours=20))

    assert [label for _problem, label in queue(member)] == [
        "UND-SOONER",
        "UND-LATER",
        "STUCK-OLD",
        "STUCK-RECENT",
        "UNKNOWN",
        "DUPLICATE",
        "REJECTED",
        "REFUSED",
        "FILING",
        "doc.pdf",
    ]


def test_an_invoice_with_two_problems_is_in_once_under_the_more_urgent(administration, member):
    """A filing failed, and its accepted invoice had an old alert; the invoice is in once."""
    filing = make.failed_filing(administration, member, invoice_number="BOTH")
    filing.invoice.submissions.update(state=State.SENT, terminal=False, clearance_status=Clearance.PENDING)
    make.alert(filing.invoice.submissions.get(), "PENDING", since=make.ago(hours=9))
    assert queue(member) == [("stuck", "BOTH")]


# --- who sees what ---


def test_another_office_never_sees_the_items_nor_counts_the_companies(
    administration, member, outsider, other_administration
):
    make.rejected(administration, member, invoice_number="MINE")
    make.rejected(other_administration, outsider, invoice_number="THEIRS")

    assert queue(member) == [("rejected", "MINE")]
    assert queue(outsider) == [("rejected", "THEIRS")]
    assert [row.administration for row in cockpit.queue_counts(user=member)] == [administration]
    assert queue(member, administration=other_administration.pk) == []


def test_the_page_of_another_office_shows_nothing_of_ours(client, administration, member, outsider):
    make.rejected(administration, member, invoice_number="MINE")
    page = signed_in(client, outsider).get(URL).text
    assert "MINE" not in page and administration.name not in page
    assert 'data-testid="cockpit-empty"' in page


def test_a_colleague_without_the_grant_sees_none_of_its_items(administration, member, colleague_without_access):
    make.held(administration, member)
    assert queue(colleague_without_access) == []


def test_a_client_user_sees_only_their_own_companys_items(client, office, administration, second, member):
    make.rejected(administration, member, invoice_number="OURS")
    make.rejected(second, member, invoice_number="OTHER-CLIENT")
    boss = make_user(office, administrations=[administration], kind=Membership.Kind.CLIENT, name="Bert Client")

    assert queue(boss) == [("rejected", "OURS")]
    assert [row.administration for row in cockpit.queue_counts(user=boss)] == [administration]
    page = signed_in(client, boss).get(URL).text
    assert "OURS" in page and "OTHER-CLIENT" not in page and second.name not in page


def test_an_associate_sees_every_companys_items_in_one_queue(administration, second, member):
    make.rejected(administration, member, invoice_number="A")
    make.stuck(second, member, invoice_number="B")
    assert queue(member) == [("stuck", "B"), ("rejected", "A")]


# --- filters and counts ---


def test_the_filters(office, administration, second, member):
    colleague = make_user(office, administrations=[administration, second], name="Sara Wouters")
    mine = make.rejected(administration, member, invoice_number="MINE").invoice
    theirs = make.held(second, member, invoice_number="THEIRS", country="PL", buyer_country="PL").invoice
    make.refused(administration, member, invoice_number="NOBODYS")
    Invoice.objects.filter(pk=mine.pk).update(assignee=member)
    Invoice.objects.filter(pk=theirs.pk).update(assignee=colleague)
    make.held_document(second, member, "doc.pdf")

    labels = lambda **filters: sorted(label for _problem, label in queue(member, **filters))  # noqa: E731
    assert labels(problem=Problem.REJECTED) == ["MINE"]
    assert labels(administration=second.pk) == ["THEIRS", "doc.pdf"]
    assert labels(assignee="me") == ["MINE"]
    assert labels(assignee="none") == ["NOBODYS", "doc.pdf"]
    assert labels(assignee=colleague.pk) == ["THEIRS"]
    assert labels(country="PL") == ["THEIRS"]
    assert labels(country="IT", administration=administration.pk) == ["MINE", "NOBODYS"]


def test_the_counts_per_company_and_problem(administration, second, member):
    make.rejected(administration, member)
    make.rejected(administration, member)
    make.held(administration, member)
    make.held_document(second, member)
    make_administration(administration.office, "Zonder Problemen BV")

    counts = {row.administration.name: dict(row.counts) for row in cockpit.queue_counts(user=member)}
    assert counts == {
        administration.name: {Problem.REJECTED: 2, Problem.UNKNOWN: 1},
        second.name: {Problem.DOCUMENT: 1},
    }


def test_the_queue_is_read_a_page_at_a_time_most_urgent_first(administration, member):
    for n in range(4):
        make.rejected(administration, member, invoice_number=f"R-{n}")
    everything = [item.label for item in cockpit.queue_items(user=member).items]

    first = cockpit.queue_items(user=member, per_page=3)
    second = cockpit.queue_items(user=member, per_page=3, page="2")

    assert (len(first.items), len(second.items), first.total, second.total) == (3, 1, 4, 4)
    assert [item.label for item in first.items + second.items] == everything
    for past_the_end in ("9", "9" * 5000):
        assert cockpit.queue_items(user=member, per_page=3, page=past_the_end).items == second.items
    for nonsense in ("x", "0", "-1", "²", ""):
        assert cockpit.queue_items(user=member, per_page=3, page=nonsense).items == first.items, nonsense


def test_the_page_links_to_the_next_one_keeping_its_filters(client, administration, member, monkeypatch):
    monkeypatch.setattr(cockpit, "PAGE_SIZE", 2)
    for n in range(3):
        make.rejected(administration, member, invoice_number=f"R-{n}")
    make.held(administration, member)  # filtered out
    browser = signed_in(client, member)

    first = browser.get(URL, {"problem": "rejected"}).text
    assert len(rows(first)) == 2
    assert "1 to 2 of 3, the most urgent first." in first
    assert 'data-testid="cockpit-next" href="?problem=rejected&amp;page=2"' in first

    second = browser.get(URL, {"problem": "rejected", "page": "2"}).text
    assert len(rows(second)) == 1
    assert "3 to 3 of 3" in second and 'data-testid="cockpit-previous"' in second
    shown = re.findall(r'data-testid="item-link">([^<]+)<', first + second)
    assert sorted(shown) == ["R-0", "R-1", "R-2"]


def test_one_page_has_no_page_links(client, administration, member):
    make.rejected(administration, member, invoice_number="R-0")
    page = signed_in(client, member).get(URL).text
    assert len(rows(page)) == 1
    assert 'data-testid="cockpit-next"' not in page and 'data-testid="cockpit-range"' not in page


# --- the page ---


def test_the_page_lists_the_items_with_why_since_deadline_and_assignee(client, office, administration, second, member):
    colleague = make_user(office, administrations=[administration, second], name="Sara Wouters")
    undelivered = make.undelivered(second, member, invoice_number="IT-UND")
    rejected = make.rejected(administration, member, invoice_number="REJ-1").invoice
    Invoice.objects.filter(pk=rejected.pk).update(assignee=colleague)

    response = signed_in(client, member).get(URL)

    assert response.status_code == 200
    page = response.text
    assert rows(page) == [f"invoice:{undelivered.invoice_id}", f"invoice:{rejected.pk}"]
    assert f'href="/administrations/{administration.company_number}/invoices/{rejected.pk}/"' in page
    assert "SDI 00102: Partita IVA del cessionario non valida" in page
    assert "Sara Wouters" in page
    assert 'data-testid="due"><time' in page  # the deadline of the undelivered one
    assert 'name="item" value="invoice:' in page
    assert 'value="assign"' in page and 'value="retry"' in page
    assert f'<option value="{colleague.pk}">Sara Wouters</option>' in page
    assert f'href="?administration={second.pk}&amp;problem=undelivered"' in page


def test_the_page_in_dutch(client, administration, member):
    make.rejected(administration, member, invoice_number="REJ-1")
    page = signed_in(client, member, "nl").get(URL).text
    assert "Geweigerd door de belastingadministratie" in page
    assert "1 open probleem" in page
    assert "Opvolging van de goedkeuring" in page


def test_a_viewer_sees_the_queue_without_a_bulk_bar(client, administration, member, viewer):
    make.rejected(administration, member, invoice_number="REJ-1")
    page = signed_in(client, viewer).get(URL).text
    assert rows(page) and 'name="item"' not in page and 'data-testid="cockpit-bulk"' not in page


def test_a_drafter_may_assign_but_not_retry(client, office, administration, member):
    drafter = make_user(office, administrations=[administration], administration_role=Role.DRAFTER, name="Dirk")
    make.held(administration, member)
    page = signed_in(client, drafter).get(URL).text
    assert 'value="assign"' in page and 'value="poll"' in page
    assert 'value="retry"' not in page and 'value="hold"' not in page


def test_the_page_filters_from_its_query_and_ignores_nonsense(client, administration, second, member):
    make.rejected(administration, member, invoice_number="A")
    make.held(second, member, invoice_number="B")
    client = signed_in(client, member)

    assert len(rows(client.get(URL, {"administration": second.pk}).text)) == 1
    assert len(rows(client.get(URL, {"problem": "rejected"}).text)) == 1
    nonsense = client.get(URL, {"problem": "nope", "administration": "x", "assignee": "<b>", "country": "ZZ"})
    assert nonsense.status_code == 200 and len(rows(nonsense.text)) == 2


def test_a_company_of_another_office_in_the_filter_shows_nothing(
    client, administration, member, other_administration, outsider
):
    make.rejected(other_administration, outsider, invoice_number="THEIRS")
    page = signed_in(client, member).get(URL, {"administration": other_administration.pk}).text
    assert "THEIRS" not in page


def test_the_empty_queue_says_so_kindly(client, administration, member):
    page = signed_in(client, member).get(URL).text
    assert "Nothing needs you" in page


def test_the_counts_refresh_alone(client, administration, member):
    make.rejected(administration, member)
    response = signed_in(client, member).get(URL, headers={"HX-Request": "true", "HX-Target": "cockpit-counts"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="cockpit-counts"')
    assert 'data-testid="cockpit-item"' not in response.text


def test_the_refreshed_counts_are_the_counts_the_page_showed(client, administration, member):
    """The refresh replaces the section with the same table: its per-problem column headings included."""
    make.rejected(administration, member)
    reader = signed_in(client, member)
    page = reader.get(URL).text
    section = page[page.index('<section id="cockpit-counts"') :]
    section = section[: section.index("</section>") + len("</section>")]
    refreshed = reader.get(URL, headers={"HX-Request": "true", "HX-Target": "cockpit-counts"}).text.strip()
    assert refreshed == section.strip()
    assert "Rejected by the authority" in refreshed


def test_the_counts_and_the_filters_follow_each_change_though_their_html_is_kept(client, administration, member):
    """The page keeps its drawn counts and filter form under what they show (the `fragments` cache)."""
    make.rejected(administration, member)
    reader = signed_in(client, member)
    assert 'data-testid="count-total">1<' in reader.get(URL).text
    make.rejected(administration, member)
    type(administration).objects.filter(pk=administration.pk).update(name="Bakkerij Peeters BV")
    page = reader.get(URL).text
    assert 'data-testid="count-total">2<' in page
    assert f'<option value="{administration.pk}">Bakkerij Peeters BV</option>' in page
    assert (
        f'<option value="{administration.pk}" selected>' in reader.get(URL, {"administration": administration.pk}).text
    )
    assert "Elk probleem" in signed_in(client, member, language="nl").get(URL).text


def test_an_items_row_follows_each_change_though_its_html_is_kept(client, administration, member):
    rejected = make.rejected(administration, member)
    reader = signed_in(client, member)
    assert 'data-testid="assignee"><span class="text-body-secondary">Nobody</span>' in reader.get(URL).text
    Invoice.objects.filter(pk=rejected.invoice.pk).update(assignee=member, invoice_number="F-RENAMED")
    page = reader.get(URL).text
    assert f'data-testid="assignee">{member.get_full_name()}</td>' in page and ">F-RENAMED</a>" in page
    assert (
        "Niemand" not in page
        and "Geweigerd door de belastingadministratie" in signed_in(client, member, language="nl").get(URL).text
    )


def test_the_top_bar_links_to_the_queue_for_who_sees_a_company(
    client, administration, member, colleague_without_access
):
    assert 'data-testid="nav-cockpit"' in signed_in(client, member).get("/").text
    assert 'data-testid="nav-cockpit"' not in signed_in(client, colleague_without_access).get("/").text


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/")
