"""Four-eyes approval: a draft is sent for review to a colleague, who approves that version of it.

When the administration's profile asks for four eyes (InvoicingProfile.four_eyes), a draft is
submitted only once an Approval exists for its current `version` by someone other than its author
and the person who saved that version (`changed_by`). Every saved change makes a new version, so an
approval never covers a change made after it: `content_changed` (called by the services that make a
new version) also sends an approved draft back to review. The rule is checked under the invoice's
row lock when it is submitted (invoicing.submissions), one invoice or many.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from clearfacts_app.activity import activity_record
from clearfacts_app.models import Activity, AdministrationAccess, Notification
from clearfacts_app.notifications import notify
from clearfacts_app.roles import RANKS, Action, can, role_allows
from invoicing.models import Approval, Invoice, InvoicingProfile

Review = Invoice.Review


class ReviewRefused(Exception):
    """What the invoice's state, the version or the people involved do not allow; the message says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def four_eyes_on(administration) -> bool:
    """Whether the administration asks for four-eyes approval (read from the database, not a cached profile)."""
    return InvoicingProfile.objects.filter(administration_id=administration.pk, four_eyes=True).exists()


def _number(invoice: Invoice) -> dict:
    return {"number": invoice.invoice_number}


# The activity rows of a person's content saves (invoicing.services): who wrote or changed an invoice.
CONTENT_ACTIONS = ("invoice.created", "invoice.changed")


def contributors(invoice: Invoice) -> set[int]:
    """Everyone who wrote the invoice or saved any version of it: none of them may approve it (a
    colleague who changed version 2 does not become a second pair of eyes by version 3). Read once
    per invoice object."""
    if "_contributors" not in invoice.__dict__:
        saved = Activity.objects.filter(
            administration_id=invoice.administration_id,
            action__in=CONTENT_ACTIONS,
            data__invoice=invoice.pk,
            actor__isnull=False,
        ).values_list("actor_id", flat=True)
        invoice.__dict__["_contributors"] = {*saved, invoice.author_id, invoice.changed_by_id} - {None}
    return invoice.__dict__["_contributors"]


def _own(invoice: Invoice, person) -> bool:
    """Whether `person` wrote or changed the invoice (they cannot approve it)."""
    return person is not None and person.pk in contributors(invoice)


def _detail_url(invoice: Invoice) -> str:
    return reverse(
        "invoicing:invoice-detail",
        kwargs={"company_number": invoice.administration.company_number, "invoice_pk": invoice.pk},
    )


def _locked(invoice: Invoice, expected_version: int | None) -> Invoice:
    """The invoice under its row lock, refused unless it is still the draft the page showed."""
    locked = Invoice.objects.select_for_update().select_related("administration", "author").get(pk=invoice.pk)
    if locked.status != Invoice.Status.DRAFT:
        raise ReviewRefused(_("Invoice %(number)s is no longer a draft: there is nothing to review.") % _number(locked))
    if expected_version is None or locked.version != expected_version:
        raise ReviewRefused(
            _("Invoice %(number)s was changed since you opened it: check the new version first.") % _number(locked)
        )
    if not four_eyes_on(locked.administration):
        raise ReviewRefused(
            _("This administration does not ask for four-eyes approval: the invoice can be submitted without one.")
        )
    return locked


def approval_current(invoice: Invoice) -> Approval | None:
    """The approval that covers the invoice as it is now: of its current version, by someone who
    neither wrote nor changed it and who may still approve there."""
    approvals = invoice.approvals.filter(invoice_version=invoice.version).select_related("approver__membership")
    return next(
        (
            approval
            for approval in approvals
            if not _own(invoice, approval.approver) and can(approval.approver, Action.APPROVE, invoice.administration)
        ),
        None,
    )


def approval_missing(invoice: Invoice) -> str | None:
    """None when four eyes do not stop `invoice` from being submitted; else the reason, for the user."""
    if not four_eyes_on(invoice.administration):
        return None
    if approval_current(invoice) is not None:
        return None
    if invoice.approvals.exists():
        return _("Changed since it was approved: it needs approval again")
    return _("Needs approval by a colleague first")


def reviewers_eligible(invoice: Invoice) -> list:
    """The people who may approve `invoice`: those who may APPROVE on its administration, except those
    who wrote or changed it (two queries, whatever their number)."""
    approving = [role for role in RANKS if role_allows(role, Action.APPROVE)]
    # The role decided in SQL as clearfacts_app.roles decides it: active people of the
    # administration's office whose row lets them approve, and office administrators (associates
    # with the office's ADMIN role), who manage every administration they see whatever the row says.
    office_admin = Q(user__membership__role=Membership.Role.ADMIN, user__membership__kind=Membership.Kind.ASSOCIATE)
    accesses = (
        AdministrationAccess.objects.filter(
            Q(role__in=approving) | office_admin,
            administration_id=invoice.administration_id,
            user__is_active=True,
            user__membership__office_id=F("administration__office_id"),
        )
        .select_related("user__membership")
        .order_by("user__display_name", "user__first_name", "user__last_name", "user__pk")
    )
    return [access.user for access in accesses if not _own(invoice, access.user)]


def invoice_review_request(*, invoice: Invoice, actor, reviewer, expected_version: int | None) -> Invoice:
    """Sends the draft (as the page showed it: `expected_version`) to `reviewer`, who is told.

    Raises ReviewRefused when it is not a draft, changed since, four eyes are off, is approved
    already in this version, or when `reviewer` may not approve it (no APPROVE role there, or they
    wrote or last changed it).
    """
    with transaction.atomic():
        locked = _locked(invoice, expected_version)
        administration = locked.administration
        if reviewer is None:
            raise ReviewRefused(_("Choose the colleague who reviews the invoice."))
        if _own(locked, reviewer):
            raise ReviewRefused(
                _("%(name)s wrote or changed this invoice: choose another colleague to review it.") % {"name": reviewer}
            )
        if not can(reviewer, Action.APPROVE, administration):
            raise ReviewRefused(
                _("%(name)s may not approve invoices of this administration: choose another colleague.")
                % {"name": reviewer}
            )
        if approval_current(locked) is not None:
            raise ReviewRefused(_("Invoice %(number)s is approved in this version already.") % _number(locked))
        before = {"review": locked.review, "reviewer": locked.reviewer_id}
        locked.review, locked.reviewer = Review.IN_REVIEW, reviewer
        Invoice.objects.filter(pk=locked.pk).update(review=locked.review, reviewer=reviewer, updated_at=timezone.now())
        data = {"invoice": locked.pk, "number": locked.invoice_number, "version": locked.version}
        activity_record(
            administration=administration,
            actor=actor,
            action="invoice.review_requested",
            data=data | {"reviewer": reviewer.pk},
            changes={
                name: [before[name], after]
                for name, after in (("review", locked.review), ("reviewer", reviewer.pk))
                if before[name] != after
            },
        )
        notify(
            recipients=[reviewer],
            administration=administration,
            kind=Notification.Kind.REVIEW_ASSIGNED,
            key=f"invoice:{locked.pk}:v{locked.version}:review",
            actor=actor,
            data=data | {"administration": administration.pk},
            url=_detail_url(locked),
        )
    return locked


def _review_requester(invoice: Invoice):
    """Who last asked for the invoice's review (from the activity rows), or None."""
    row = (
        Activity.objects.filter(
            administration_id=invoice.administration_id, action="invoice.review_requested", data__invoice=invoice.pk
        )
        .select_related("actor")
        .order_by("-pk")
        .first()
    )
    return row.actor if row is not None else None


def invoice_approve(*, invoice: Invoice, actor, expected_version: int | None) -> Approval:
    """Approves the draft in the version the approver saw (`expected_version`); its author is told.

    Raises ReviewRefused for the invoice's author or the person who saved this version, for a page
    showing an older version, for an invoice that is not a draft or not in review, when four eyes
    are off, or for someone who may not approve on the administration.
    """
    with transaction.atomic():
        locked = _locked(invoice, expected_version)
        administration = locked.administration
        if _own(locked, actor):
            raise ReviewRefused(
                _("You wrote or changed invoice %(number)s: a colleague must approve it.") % _number(locked)
            )
        if not can(actor, Action.APPROVE, administration):
            raise ReviewRefused(_("You may not approve invoices of this administration."))
        if approval_current(locked) is not None:
            raise ReviewRefused(_("Invoice %(number)s is approved in this version already.") % _number(locked))
        if locked.review != Review.IN_REVIEW:
            raise ReviewRefused(
                _("Invoice %(number)s was not sent for review: send it for review first.") % _number(locked)
            )
        approval = Approval.objects.create(invoice=locked, invoice_version=locked.version, approver=actor)
        Invoice.objects.filter(pk=locked.pk).update(review=Review.APPROVED, updated_at=timezone.now())
        locked.review = Review.APPROVED
        data = {"invoice": locked.pk, "number": locked.invoice_number, "version": locked.version}
        activity_record(
            administration=administration,
            actor=actor,
            action="invoice.approved",
            data=data | {"approval": approval.pk},
            changes={"review": [Review.IN_REVIEW.value, Review.APPROVED.value]},
        )
        notify(
            recipients=[locked.author, _review_requester(locked)],
            administration=administration,
            kind=Notification.Kind.INVOICE_APPROVED,
            key=f"invoice:{locked.pk}:v{locked.version}:approved",
            actor=actor,
            data=data | {"administration": administration.pk},
            url=_detail_url(locked),
        )
    return approval


def content_changed(invoice: Invoice, actor, *, edited: bool = True) -> dict:
    """The fields to write, in the same UPDATE, with a change that makes a new version of `invoice`.

    Call it inside that change's transaction, before the UPDATE: `changed_by` becomes `actor` (when
    `edited`: a person saved new content; not when the invoice merely came back to draft), and an
    approved draft goes back to review (same reviewer), recorded as "invoice.back_to_review". The
    row is locked first, so an approval cannot slip in between.
    """
    review, version, reviewer_id = Invoice.objects.select_for_update().filter(pk=invoice.pk).values_list(
        "review", "version", "reviewer_id"
    ).first() or (None, None, None)
    fields = {"changed_by": actor} if edited and actor is not None else {}
    if review == Review.APPROVED:
        fields["review"] = Review.IN_REVIEW
        data = {"invoice": invoice.pk, "number": invoice.invoice_number}
        activity_record(
            administration=invoice.administration,
            actor=actor,
            action="invoice.back_to_review",
            data=data,
            changes={"review": [Review.APPROVED.value, Review.IN_REVIEW.value]},
        )
        # The reviewer approved another version: they are asked again, for the new one.
        notify(
            recipients=User.objects.filter(pk=reviewer_id),
            administration=invoice.administration,
            kind=Notification.Kind.REVIEW_ASSIGNED,
            key=f"invoice:{invoice.pk}:v{version + 1}:review",
            actor=actor,
            data=data | {"version": version + 1, "administration": invoice.administration_id},
            url=_detail_url(invoice),
        )
    return fields


def back_in_review() -> dict:
    """For an UPDATE that brings a frozen invoice back to draft at a new version (no person's edit):
    an approved one goes back to review, since its approval was for another version."""
    return {"review": Case(When(review=Review.APPROVED, then=Value(Review.IN_REVIEW)), default=F("review"))}


# --- what the invoice page's Review box shows ---


@dataclass
class ReviewBox:
    invoice: Invoice
    four_eyes: bool
    missing: str | None = None
    approvals: list = field(default_factory=list)
    current: Approval | None = None
    eligible: list = field(default_factory=list)
    own: bool = False  # the reader wrote or last changed it
    can_request: bool = False
    can_approve: bool = False

    @property
    def state(self) -> str:
        """approved, in_review, changed (approved once, changed since) or none."""
        if self.current is not None:
            return "approved"
        if self.invoice.review == Review.IN_REVIEW:
            return "in_review"
        if self.approvals:
            return "changed"
        return "none"


def review_box(*, invoice: Invoice, user) -> ReviewBox:
    """What the Review box of the invoice page shows `user`, and which of its buttons they may use."""
    profile = getattr(invoice.administration, "invoicing_profile", None)  # often read with the invoice
    if profile is None or not profile.four_eyes:
        return ReviewBox(invoice=invoice, four_eyes=False)
    approvals = list(invoice.approvals.select_related("approver").order_by("-invoice_version", "-pk"))
    current = next(
        (a for a in approvals if a.invoice_version == invoice.version and not _own(invoice, a.approver)), None
    )
    box = ReviewBox(invoice=invoice, four_eyes=True, approvals=approvals, current=current, own=_own(invoice, user))
    if not invoice.is_editable:
        return box
    box.missing = approval_missing(invoice)
    administration = invoice.administration
    if box.missing and can(user, Action.REQUEST_REVIEW, administration):
        box.can_request = True
        box.eligible = reviewers_eligible(invoice)
    box.can_approve = bool(
        box.missing and invoice.review == Review.IN_REVIEW and not box.own and can(user, Action.APPROVE, administration)
    )
    return box
