"""Four-eyes approval in the pages: the Review box of the invoice page and its two posts (with and
without HTMX), the Submit button that waits for the approval, bulk submit, the profile's setting and the
list's review filters; bad input and other people's ids change nothing."""

import re

import pytest
from django.conf import settings

from clearfacts_app.models import Notification
from invoicing import reviews, services
from invoicing.models import Approval, Invoice, InvoicingProfile, Submission
from invoicing.submissions import submission_send
from tests.invoicing.editor_helpers import complete_profile
from tests.invoicing.submit_helpers import posts, ready_draft

Review = Invoice.Review
HTMX = {"HX-Request": "true"}
BULK = "/invoices/submit/"


def base(invoice) -> str:
    return f"/administrations/{invoice.administration.company_number}/invoices/{invoice.pk}/"


def request_url(invoice) -> str:
    return base(invoice) + "review/request/"


def approve_url(invoice) -> str:
    return base(invoice) + "review/approve/"


def as_user(client, user):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def fresh(invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def sent_for_review(invoice, actor, reviewer) -> None:
    reviews.invoice_review_request(
        invoice=invoice, actor=actor, reviewer=reviewer, expected_version=fresh(invoice).version
    )


def box(text: str) -> str:
    start = text.index('id="invoice-review"')
    return text[text.rindex("<section", 0, start) : text.index("</section>", start)]


def followed_message(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


# --- the invoice page ---


def test_with_four_eyes_the_page_says_approval_is_needed_and_offers_review_instead_of_submit(
    client, draft, member, colleague, owner, viewer, drafter
):
    text = as_user(client, member).get(base(draft)).text

    assert 'data-testid="submit-invoice"' not in text
    review = box(text)
    assert 'data-state="none"' in review and "Needs approval by a colleague first" in review
    options = re.findall(r'<option value="(\d+)"', review)
    assert sorted(map(int, options)) == sorted([colleague.pk, owner.pk]), "approvers only, never the author"
    assert f'value="{draft.version}"' in review and 'data-testid="approve-invoice"' not in review


def test_without_four_eyes_the_page_is_as_before(client, administration, member):
    complete_profile(administration)
    invoice = ready_draft(administration, member)

    text = as_user(client, member).get(base(invoice)).text

    assert 'data-testid="submit-invoice"' in text and 'id="invoice-review"' not in text


def test_the_reviewer_sees_the_approve_button_and_the_author_a_note(client, draft, member, colleague):
    sent_for_review(draft, member, colleague)

    reviewer_view = box(as_user(client, colleague).get(base(draft)).text)
    author_view = box(as_user(client, member).get(base(draft)).text)

    assert 'data-testid="approve-invoice"' in reviewer_view and "Asked to review: Sara Wouters" in reviewer_view
    assert 'data-testid="approve-invoice"' not in author_view and 'data-testid="own-invoice"' in author_view


def test_once_approved_the_author_may_submit_and_the_box_says_who_approved_which_version(
    client, draft, member, colleague
):
    sent_for_review(draft, member, colleague)
    reviews.invoice_approve(invoice=draft, actor=colleague, expected_version=1)

    text = as_user(client, member).get(base(draft)).text

    assert 'data-testid="submit-invoice"' in text
    review = box(text)
    assert 'data-state="approved"' in review and "Version 1 approved by Sara Wouters" in review


# --- sending for review ---


def test_sending_for_review_without_javascript_redirects_with_a_message(client, draft, member, colleague):
    response = as_user(client, member).post(
        request_url(draft), {"version": "1", "reviewer": str(colleague.pk)}, follow=True
    )

    assert response.redirect_chain[0] == (base(draft) + "#invoice-review", 302)
    assert f"{draft.invoice_number} was sent to Sara Wouters for review." in followed_message(response)
    assert (fresh(draft).review, fresh(draft).reviewer) == (Review.IN_REVIEW, colleague)
    assert Notification.objects.get(kind=Notification.Kind.REVIEW_ASSIGNED).recipient == colleague


def test_sending_for_review_with_htmx_answers_the_box_and_the_actions(client, draft, member, colleague):
    response = as_user(client, member).post(
        request_url(draft), {"version": "1", "reviewer": str(colleague.pk)}, headers=HTMX
    )

    assert response.status_code == 200
    assert 'id="invoice-review"' in response.text and 'data-state="in_review"' in response.text
    assert 'data-testid="review-success"' in response.text
    assert 'id="invoice-actions"' in response.text and 'hx-swap-oob="true"' in response.text


@pytest.mark.parametrize("who", ["viewer", "drafter", "member", "outsider", "nonsense"])
def test_a_review_for_someone_who_may_not_approve_is_refused_in_the_page(request, client, draft, member, who):
    reviewer = "x" if who == "nonsense" else str(request.getfixturevalue(who).pk)

    response = as_user(client, member).post(request_url(draft), {"version": "1", "reviewer": reviewer}, headers=HTMX)

    assert response.status_code == 200 and 'data-testid="review-error"' in response.text
    assert fresh(draft).review == Review.NONE and not Notification.objects.exists()


def test_a_review_request_from_an_old_page_is_refused(client, draft, member, colleague):
    Invoice.objects.filter(pk=draft.pk).update(version=2)

    response = as_user(client, member).post(
        request_url(draft), {"version": "1", "reviewer": str(colleague.pk)}, follow=True
    )

    assert "was changed since you opened it" in followed_message(response)
    assert fresh(draft).review == Review.NONE


# --- approving ---


def test_the_author_cannot_approve_their_own_invoice_in_the_page(client, draft, member, colleague):
    sent_for_review(draft, member, colleague)

    response = as_user(client, member).post(approve_url(draft), {"version": "1"}, follow=True)

    assert "a colleague must approve it" in followed_message(response)
    assert not Approval.objects.exists() and fresh(draft).review == Review.IN_REVIEW


def test_the_reviewer_approves_the_version_the_page_showed(client, draft, member, colleague):
    sent_for_review(draft, member, colleague)

    response = as_user(client, colleague).post(approve_url(draft), {"version": "1"}, headers=HTMX)

    assert response.status_code == 200 and 'data-state="approved"' in response.text
    assert Approval.objects.get().invoice_version == 1 and fresh(draft).review == Review.APPROVED
    assert Notification.objects.get(kind=Notification.Kind.INVOICE_APPROVED).recipient == member


def test_a_stale_approval_page_cannot_approve_the_newer_version(client, draft, member, colleague):
    sent_for_review(draft, member, colleague)
    page = as_user(client, colleague).get(base(draft)).text
    form = page[page.index('data-testid="approve-form"') :]
    shown = re.search(r'name="version" value="(\d+)"', form)[1]
    assert shown == "1"
    draft = fresh(draft)
    draft.buyer_name = "Changed while the approver read it"
    services.invoice_update(invoice=draft, editor=member, expected_version=1, lines=list(draft.lines.all()))

    response = as_user(client, colleague).post(approve_url(draft), {"version": shown}, follow=True)

    assert "was changed since you opened it" in followed_message(response)
    assert not Approval.objects.exists() and fresh(draft).version == 2


def test_a_missing_version_approves_nothing(client, draft, member, colleague):
    sent_for_review(draft, member, colleague)

    response = as_user(client, colleague).post(approve_url(draft), {"version": "many"}, headers=HTMX)

    assert response.status_code == 200 and 'data-testid="review-error"' in response.text
    assert not Approval.objects.exists()


# --- access ---


@pytest.mark.parametrize("address", [request_url, approve_url])
def test_an_outsider_gets_404_and_a_get_is_405(client, draft, outsider, member, address):
    assert as_user(client, outsider).post(address(draft), {"version": "1"}).status_code == 404
    assert as_user(client, member).get(address(draft)).status_code == 405


def test_another_administrations_invoice_is_404(client, draft, member, other_administration, outsider):
    theirs = ready_draft(other_administration, outsider)
    url = f"/administrations/{draft.administration.company_number}/invoices/{theirs.pk}/review/approve/"

    assert as_user(client, member).post(url, {"version": "1"}).status_code == 404


def test_a_viewer_may_not_send_for_review_and_a_drafter_may_not_approve(
    client, draft, member, colleague, viewer, drafter
):
    sent_for_review(draft, member, colleague)

    assert (
        as_user(client, viewer).post(request_url(draft), {"version": "1", "reviewer": colleague.pk}).status_code == 403
    )
    assert as_user(client, viewer).post(approve_url(draft), {"version": "1"}).status_code == 403
    assert as_user(client, drafter).post(approve_url(draft), {"version": "1"}).status_code == 403
    assert not Approval.objects.exists()


def test_a_drafter_may_send_for_review(client, four_eyes, administration, drafter, colleague):
    invoice = ready_draft(administration, drafter)

    as_user(client, drafter).post(request_url(invoice), {"version": "1", "reviewer": colleague.pk})

    assert fresh(invoice).reviewer == colleague


# --- submitting ---


def test_the_submit_button_of_an_old_page_is_refused_until_approved(client, draft, member):
    response = as_user(client, member).post(base(draft) + "submit/", {"version": "1"}, follow=True)

    assert "Needs approval by a colleague first" in followed_message(response)
    assert not Submission.objects.exists()


def test_bulk_submit_sends_only_the_approved_drafts_to_clearvo(
    live_clearvo, client, administration, member, colleague, dispatched
):
    InvoicingProfile.objects.filter(administration=administration).update(four_eyes=True)
    approved, unapproved, changed = (ready_draft(administration, member, invoice_number=f"FE-{n}") for n in (1, 2, 3))
    for invoice in (approved, changed):
        sent_for_review(invoice, member, colleague)
        reviews.invoice_approve(invoice=invoice, actor=colleague, expected_version=1)
    Invoice.objects.filter(pk=changed.pk).update(version=2)  # a change the approval does not cover

    response = as_user(client, member).post(
        BULK, {"invoice": [f"{approved.pk}:1", f"{unapproved.pk}:1", f"{changed.pk}:2"]}
    )
    for submission_id, _countdown in dispatched:
        submission_send(submission_id)

    assert 'data-testid="bulk-summary">1 sent, 2 refused' in response.text
    assert "FE-2 cannot be submitted yet. Needs approval by a colleague first." in response.text
    assert "FE-3 cannot be submitted yet. Changed since it was approved" in response.text
    assert posts().count() == 1, "the sandbox's Clearvo received the approved invoice only"
    assert list(Submission.objects.values_list("invoice__invoice_number", flat=True)) == ["FE-1"]


# --- the setting and the lists ---


def test_a_manager_turns_four_eyes_on_on_the_profile_page(client, owner, administration):
    from tests.invoicing.test_profile import url, valid_post

    assert 'name="four_eyes"' in as_user(client, owner).get(url(administration)).text
    assert client.post(url(administration), valid_post(four_eyes="on")).status_code == 302

    assert InvoicingProfile.objects.get(administration=administration).four_eyes is True


def test_the_lists_filter_drafts_in_review_and_those_waiting_for_me(client, draft, administration, member, colleague):
    other = ready_draft(administration, member, invoice_number="NOT-IN-REVIEW")
    mine = ready_draft(administration, colleague, invoice_number="FOR-MEMBER")
    sent_for_review(draft, member, colleague)
    sent_for_review(mine, colleague, member)

    in_review = as_user(client, member).get("/invoices/?review=in_review").text
    waiting = client.get(f"/administrations/{administration.company_number}/invoices/?review=mine").text

    assert draft.invoice_number in in_review and "FOR-MEMBER" in in_review and other.invoice_number not in in_review
    assert "FOR-MEMBER" in waiting and f">{draft.invoice_number}<" not in waiting
