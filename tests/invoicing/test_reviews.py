"""Four-eyes approval (invoicing.reviews): who may approve, approval bound to a version, a change sends
an approved draft back to review, and submitting (one invoice or several) waits for the approval."""

import pytest

from accounts.models import Membership
from clearfacts_app.models import Activity, AdministrationAccess, Notification
from clearfacts_app.roles import Role, forget_roles
from invoicing import reviews, services, submissions
from invoicing.models import Approval, Invoice, InvoicingProfile, Submission
from invoicing.reviews import ReviewRefused
from invoicing.submissions import SubmitRefused
from tests.factories import make_user
from tests.invoicing.editor_helpers import complete_profile
from tests.invoicing.submit_helpers import ready_draft, submitted

Review = Invoice.Review


def fresh(invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def in_review(invoice, actor, reviewer) -> Invoice:
    return reviews.invoice_review_request(
        invoice=invoice, actor=actor, reviewer=reviewer, expected_version=fresh(invoice).version
    )


def approve(invoice, actor) -> Approval:
    return reviews.invoice_approve(invoice=invoice, actor=actor, expected_version=fresh(invoice).version)


def edit(invoice, editor, **changes) -> Invoice:
    """Saves a change as the editor does (a new version)."""
    invoice = fresh(invoice)
    for name, value in changes.items():
        setattr(invoice, name, value)
    return services.invoice_update(
        invoice=invoice, editor=editor, expected_version=invoice.version, lines=list(invoice.lines.all())
    )


# --- asking for a review ---


def test_a_review_request_assigns_the_colleague_records_it_and_tells_them(draft, member, colleague):
    in_review(draft, member, colleague)

    invoice = fresh(draft)
    assert (invoice.review, invoice.reviewer) == (Review.IN_REVIEW, colleague)
    activity = Activity.objects.get(action="invoice.review_requested")
    assert activity.actor == member and activity.data["reviewer"] == colleague.pk
    assert activity.changes["review"] == ["", "in_review"]
    told = Notification.objects.get(kind=Notification.Kind.REVIEW_ASSIGNED)
    assert told.recipient == colleague and told.actor == member
    assert told.data["invoice"] == draft.pk and told.data["number"] == draft.invoice_number
    assert told.url == f"/administrations/{draft.administration.company_number}/invoices/{draft.pk}/"


@pytest.mark.parametrize("who", ["viewer", "drafter", "member"])
def test_a_review_cannot_go_to_someone_who_may_not_approve_or_to_the_author(request, draft, member, who):
    reviewer = request.getfixturevalue(who)

    with pytest.raises(ReviewRefused):
        in_review(draft, member, reviewer)

    assert fresh(draft).review == Review.NONE and not Notification.objects.exists()
    assert not Activity.objects.filter(action="invoice.review_requested").exists()


def test_a_review_cannot_go_to_whoever_saved_the_current_version(draft, member, colleague, owner):
    edit(draft, colleague, buyer_name="Changed by the colleague")

    with pytest.raises(ReviewRefused, match="wrote or changed"):
        in_review(draft, member, colleague)
    in_review(draft, member, owner)  # an office administrator manages, so approves

    assert fresh(draft).reviewer == owner


def test_a_review_request_from_a_page_showing_an_older_version_is_refused(draft, member, colleague):
    with pytest.raises(ReviewRefused, match="changed since you opened it"):
        reviews.invoice_review_request(invoice=draft, actor=member, reviewer=colleague, expected_version=0)


def test_no_review_when_the_administration_does_not_ask_for_four_eyes(administration, member, colleague):
    complete_profile(administration)
    invoice = ready_draft(administration, member)

    with pytest.raises(ReviewRefused, match="does not ask for four-eyes"):
        in_review(invoice, member, colleague)
    with pytest.raises(ReviewRefused, match="does not ask for four-eyes"):
        approve(invoice, colleague)


# --- approving ---


def test_the_author_cannot_approve_their_own_invoice(draft, member, colleague):
    in_review(draft, member, colleague)

    with pytest.raises(ReviewRefused, match="a colleague must approve it"):
        approve(draft, member)

    assert not Approval.objects.exists() and fresh(draft).review == Review.IN_REVIEW
    assert reviews.approval_missing(fresh(draft)) == "Needs approval by a colleague first"


def test_whoever_last_changed_it_cannot_approve_it_either(draft, member, colleague, owner):
    in_review(draft, member, owner)
    edit(draft, colleague, buyer_name="Changed by the colleague")

    with pytest.raises(ReviewRefused, match="a colleague must approve it"):
        approve(draft, colleague)
    approve(draft, owner)

    assert list(Approval.objects.values_list("approver", flat=True)) == [owner.pk]


def test_an_approval_is_bound_to_the_version_it_was_given_for(draft, member, colleague):
    in_review(draft, member, colleague)

    approval = approve(draft, colleague)

    invoice = fresh(draft)
    assert (approval.invoice_version, approval.approver, invoice.review) == (1, colleague, Review.APPROVED)
    assert reviews.approval_missing(invoice) is None
    activity = Activity.objects.get(action="invoice.approved")
    assert activity.actor == colleague and activity.changes == {"review": ["in_review", "approved"]}
    told = Notification.objects.get(kind=Notification.Kind.INVOICE_APPROVED)
    assert told.recipient == member and told.data["version"] == 1


def test_whoever_asked_for_the_review_is_told_of_the_approval_too(draft, member, colleague, owner):
    in_review(draft, owner, colleague)

    approve(draft, colleague)

    told = Notification.objects.filter(kind=Notification.Kind.INVOICE_APPROVED)
    assert sorted(told.values_list("recipient", flat=True)) == sorted([member.pk, owner.pk])


def test_a_stale_approval_page_cannot_approve_a_newer_version(draft, member, colleague):
    in_review(draft, member, colleague)
    shown = fresh(draft).version
    edit(draft, member, buyer_name="Changed after the page was opened")

    with pytest.raises(ReviewRefused, match="changed since you opened it"):
        reviews.invoice_approve(invoice=draft, actor=colleague, expected_version=shown)

    assert not Approval.objects.exists()


def test_a_draft_not_sent_for_review_is_not_approved(draft, colleague):
    with pytest.raises(ReviewRefused, match="not sent for review"):
        approve(draft, colleague)


def test_an_approver_approves_once_per_version(draft, member, colleague, owner):
    in_review(draft, member, colleague)
    approve(draft, colleague)

    with pytest.raises(ReviewRefused, match="approved in this version already"):
        approve(draft, owner)
    assert Approval.objects.count() == 1


def test_a_drafter_may_not_approve(draft, member, drafter):
    in_review(draft, member, make_user(draft.administration.office, administrations=[draft.administration]))

    with pytest.raises(ReviewRefused, match="may not approve"):
        approve(draft, drafter)


# --- a change after the approval ---


def test_a_change_after_approval_sends_it_back_to_review_and_submit_waits_for_a_new_approval(
    draft, member, colleague, dispatched
):
    in_review(draft, member, colleague)
    approve(draft, colleague)

    edit(draft, member, buyer_name="Changed after the approval")

    invoice = fresh(draft)
    assert (invoice.version, invoice.review, invoice.reviewer, invoice.changed_by) == (
        2,
        Review.IN_REVIEW,
        colleague,
        member,
    )
    assert reviews.approval_missing(invoice) == "Changed since it was approved: it needs approval again"
    back = Activity.objects.get(action="invoice.back_to_review")
    assert back.actor == member and back.changes == {"review": ["approved", "in_review"]}
    with pytest.raises(SubmitRefused, match="needs approval again"):
        submitted(invoice, member)
    assert not Submission.objects.exists() and fresh(draft).status == Invoice.Status.DRAFT

    approve(draft, colleague)
    submission = submitted(fresh(draft), member)

    assert submission.invoice_version == 3 and dispatched == [(submission.pk, None)]


def test_an_approval_of_version_1_does_not_let_version_2_be_submitted(draft, member, colleague, dispatched):
    in_review(draft, member, colleague)
    approve(draft, colleague)
    # Whatever the review field says, the approval is for another version.
    Invoice.objects.filter(pk=draft.pk).update(version=2)

    with pytest.raises(SubmitRefused, match="cannot be submitted yet"):
        submitted(fresh(draft), colleague)
    assert dispatched == []


def test_an_unapproved_draft_is_not_submitted(draft, member, dispatched):
    with pytest.raises(SubmitRefused, match="Needs approval by a colleague first"):
        submitted(draft, member)

    assert not Submission.objects.exists() and dispatched == []


def test_without_four_eyes_a_draft_is_submitted_directly(administration, member, dispatched):
    complete_profile(administration)
    invoice = ready_draft(administration, member)

    assert reviews.approval_missing(invoice) is None
    submission = submitted(invoice, member)

    assert dispatched == [(submission.pk, None)]
    assert fresh(invoice).changed_by is None and fresh(invoice).review == Review.NONE


def test_turning_four_eyes_off_lets_unapproved_drafts_be_submitted(draft, member, dispatched):
    InvoicingProfile.objects.filter(administration=draft.administration).update(four_eyes=False)

    submitted(draft, member)

    assert len(dispatched) == 1


def test_a_copy_of_an_approved_invoice_starts_without_review(draft, member, colleague):
    in_review(draft, member, colleague)
    approve(draft, colleague)

    copy = services.invoice_duplicate(invoice=fresh(draft), actor=colleague)

    assert (copy.review, copy.reviewer, copy.changed_by) == (Review.NONE, None, None)
    assert reviews.approval_missing(copy) == "Needs approval by a colleague first"


def test_a_reopened_rejected_invoice_needs_approval_again(draft, member, colleague):
    in_review(draft, member, colleague)
    approve(draft, colleague)
    Invoice.objects.filter(pk=draft.pk).update(status=Invoice.Status.REJECTED, version=2)

    services.invoice_reopen(invoice=draft, user=member)

    invoice = fresh(draft)
    assert (invoice.status, invoice.review, invoice.changed_by) == (Invoice.Status.DRAFT, Review.IN_REVIEW, None)
    assert reviews.approval_missing(invoice) is not None


def test_a_submitted_invoice_clearvo_refused_is_a_draft_in_review_again(draft, member, colleague, dispatched):
    from django.utils import timezone

    from invoicing.submissions import _back_to_draft

    in_review(draft, member, colleague)
    approve(draft, colleague)
    submitted(fresh(draft), member)

    _back_to_draft(draft.pk, timezone.now())  # what a 400 or 422 from Clearvo does

    invoice = fresh(draft)
    assert (invoice.status, invoice.version, invoice.review) == (Invoice.Status.DRAFT, 3, Review.IN_REVIEW)
    assert reviews.approval_missing(invoice) == "Changed since it was approved: it needs approval again"


def test_a_change_after_approval_asks_the_reviewer_again_for_the_new_version(draft, member, colleague):
    in_review(draft, member, colleague)
    approve(draft, colleague)
    approved_version = fresh(draft).version

    edit(draft, member, customer_reference="PO-2")

    asked = Notification.objects.filter(recipient=colleague, kind=Notification.Kind.REVIEW_ASSIGNED).order_by("pk")
    assert [n.data.get("version") for n in asked] == [approved_version, approved_version + 1]
    assert asked.last().key == f"invoice:{draft.pk}:v{approved_version + 1}:review"
    assert not Notification.objects.filter(recipient=member, kind=Notification.Kind.REVIEW_ASSIGNED).exists()


def test_someone_who_changed_an_earlier_version_cannot_approve_a_later_one(draft, member, colleague, owner):
    """The reviewer's finding: B changes v2, A saves v3; B is not a second pair of eyes for v3."""
    edit(draft, colleague, customer_reference="changed by the colleague")
    edit(draft, member, customer_reference="changed by the colleague")  # the author saves again
    in_review(draft, member, owner)

    with pytest.raises(ReviewRefused, match="wrote or changed"):
        approve(draft, colleague)
    assert reviews.approval_missing(fresh(draft))
    assert colleague not in reviews.reviewers_eligible(fresh(draft))
    approve(draft, owner)
    assert reviews.approval_missing(fresh(draft)) is None


def test_an_approval_stops_counting_when_its_approver_may_no_longer_approve(draft, member, colleague):
    in_review(draft, member, colleague)
    approve(draft, colleague)
    assert reviews.approval_missing(fresh(draft)) is None

    AdministrationAccess.objects.filter(user=colleague).update(role=Role.DRAFTER)
    forget_roles(colleague)
    assert reviews.approval_missing(fresh(draft))
    with pytest.raises(submissions.SubmitRefused, match="cannot be submitted yet"):
        submitted(fresh(draft), member)


def test_a_supplier_changed_in_the_profile_after_approval_is_not_sent_unapproved(draft, member, colleague, four_eyes):
    in_review(draft, member, colleague)
    approve(draft, colleague)
    four_eyes.legal_name = "Someone Else NV"
    four_eyes.save()

    with pytest.raises(submissions.SubmitRefused, match="supplier's details"):
        submitted(fresh(draft), member)
    invoice = fresh(draft)
    assert invoice.supplier_name == "Someone Else NV" and invoice.review == Review.IN_REVIEW
    assert not invoice.submissions.exists()
    assert Activity.objects.filter(action="invoice.supplier_refreshed").get().changes["supplier_name"][1] == (
        "Someone Else NV"
    )
    approve(invoice, colleague)
    assert submitted(fresh(draft), member).body and b"Someone Else NV" in bytes(fresh(draft).submissions.get().body)


@pytest.mark.django_db
def test_the_eligible_reviewers_are_the_active_approvers_of_the_office_in_one_query(
    draft, office, administration, member, colleague, owner, drafter, viewer, django_assert_num_queries
):
    gone = make_user(office, administrations=[administration], name="Ann Weg")
    gone.is_active = False
    gone.save()
    # The office administrator manages whatever the row says; a client user's viewer row stays a viewer.
    AdministrationAccess.objects.filter(user=owner, administration=administration).update(role=Role.VIEWER)
    client_viewer = make_user(
        office, administrations=[administration], administration_role=Role.VIEWER, kind=Membership.Kind.CLIENT
    )
    client_approver = make_user(
        office,
        administrations=[administration],
        administration_role=Role.APPROVER,
        kind=Membership.Kind.CLIENT,
        name="Karel Klant",
    )
    invoice = fresh(draft)

    # Two queries whatever the number of people: who wrote or changed it, and who may approve.
    with django_assert_num_queries(2):
        eligible = reviews.reviewers_eligible(invoice)

    assert eligible == [owner, client_approver, colleague]  # by name: Els, Karel, Sara (member wrote it)
    assert gone not in eligible and client_viewer not in eligible
