"""How the invoicing app's activity rows read in the feed and the audit log (registered from
InvoicingConfig.ready into clearfacts_app.activity, which imports nothing of invoicing)."""

from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from clearfacts_app.activity import COMMENT_TARGETS, Kind, description_add


def _invoice_page(activity, pk: int) -> str:
    return reverse(
        "invoicing:invoice-detail",
        kwargs={"company_number": activity.administration.company_number, "invoice_pk": pk},
    )


def invoice_link(activity) -> str:
    return _invoice_page(activity, int(activity.data["invoice"]))


def buyer_link(activity) -> str:
    return reverse(
        "invoicing:buyer-edit",
        kwargs={"company_number": activity.administration.company_number, "buyer_pk": int(activity.data["buyer"])},
    )


def profile_link(activity) -> str:
    return reverse("invoicing:profile", kwargs={"company_number": activity.administration.company_number})


INVOICES = {
    "invoice.created": _("%(actor)s drafted invoice %(number)s"),
    "invoice.changed": _("%(actor)s changed draft %(number)s"),
    "invoice.duplicated": _("%(actor)s drafted %(number)s as a copy of another invoice"),
    "invoice.credit_note_created": _("%(actor)s drafted credit note %(number)s"),
    "invoice.reopened": _("%(actor)s reopened the rejected invoice %(number)s to fix it"),
    "invoice.submitted": _("%(actor)s submitted invoice %(number)s for clearance"),
    "invoice.sent": _("Clearvo received invoice %(number)s"),
    "invoice.submission_retrying": _("Sending invoice %(number)s to Clearvo failed; the portal tries again"),
    "invoice.submission_held": _("The submission of invoice %(number)s waits for a person to decide"),
    "invoice.submission_refused": _("Clearvo refused invoice %(number)s: it is a draft again"),
    "invoice.submission_failed": _("The submission of invoice %(number)s failed"),
    "invoice.submission_retried": _("%(actor)s sent invoice %(number)s to Clearvo again"),
    "invoice.submission_released": _("%(actor)s released the submission of invoice %(number)s: it is a draft again"),
    "invoice.clearance_pending": _("Invoice %(number)s awaits clearance by the tax authority"),
    "invoice.cleared": _("The tax authority accepted invoice %(number)s"),
    "invoice.rejected": _("The tax authority rejected invoice %(number)s"),
    "invoice.duplicate": _("The tax authority reported invoice %(number)s as a duplicate"),
    "invoice.undelivered": _("Invoice %(number)s could not be delivered to the buyer yet"),
    "invoice.undelivered_deadline": _("Invoice %(number)s is still undelivered after its deadline"),
    "invoice.status_checks_stopped": _("The status checks of invoice %(number)s stopped"),
    "invoice.email_requested": _("%(actor)s asked to e-mail invoice %(number)s to %(to)s"),
    "invoice.email_sent": _("Invoice %(number)s was e-mailed to %(to)s"),
    "invoice.email_failed": _("Invoice %(number)s could not be e-mailed to %(to)s"),
    # The clearance queue's actions (invoicing.cockpit_actions)
    "invoice.status_check_requested": _("%(actor)s asked Clearvo for the status of invoice %(number)s"),
    "invoice.submission_held_by_person": _(
        "%(actor)s held the submission of invoice %(number)s: nothing is sent until a person decides"
    ),
    "invoice.book_filing_retried": _("%(actor)s filed invoice %(number)s in the books again"),
    # The authority already had the number (invoicing.duplicates)
    "invoice.duplicate_adopted": _(
        "%(actor)s confirmed the tax authority's record of number %(number)s is this invoice: accepted as sent before"
    ),
    "invoice.renumbered": _("%(actor)s gave the invoice the new number %(number)s: the old one was already used"),
    # The evidence pack (invoicing.evidence_views): who took the records out, and when
    "invoice.evidence_downloaded": _("%(actor)s downloaded the evidence pack of invoice %(number)s"),
}
REVIEWS = {
    "invoice.review_requested": _("%(actor)s asked %(reviewer_name)s to review invoice %(number)s"),
    "invoice.approved": _("%(actor)s approved invoice %(number)s"),
    "invoice.back_to_review": _("Invoice %(number)s changed after its approval: it needs a review again"),
    "invoice.supplier_refreshed": _(
        "Invoice %(number)s took the supplier's new details from the invoicing profile: it needs approving again"
    ),
}

# The stale-status watchdog's alerts (invoicing/watchdog.py), one sentence per status.
STATUS_STALE = {
    "SUBMITTING": _("Alert %(level)s: Clearvo had not confirmed invoice %(number)s within its limit"),
    "PENDING": _("Alert %(level)s: the tax authority had not decided on invoice %(number)s within its limit"),
    "UNDELIVERED": _("Alert %(level)s: invoice %(number)s had still not reached the buyer close to its deadline"),
}


def status_stale(activity, params: dict) -> str:
    return str(STATUS_STALE.get(params.get("status"), STATUS_STALE["PENDING"])) % params


def _assigned(activity, params: dict) -> str:
    if params.get("assignee_name"):
        return gettext("%(actor)s asked %(assignee_name)s to take care of invoice %(number)s") % params
    return gettext("%(actor)s left invoice %(number)s to nobody in particular") % params


def _evidence_of_many(activity, params: dict) -> str:
    return (
        ngettext(
            "%(actor)s downloaded the evidence pack of %(count)d invoice",
            "%(actor)s downloaded the evidence pack of %(count)d invoices",
            params["count"],
        )
        % params
    )


def register() -> None:
    for action, text in INVOICES.items():
        description_add(action, text, kind=Kind.INVOICES, link=invoice_link)
    for action, text in REVIEWS.items():
        description_add(action, text, kind=Kind.REVIEWS, link=invoice_link)
    description_add("invoice.assigned", _assigned, kind=Kind.INVOICES, link=invoice_link)
    description_add("invoice.status_stale", status_stale, kind=Kind.INVOICES, link=invoice_link)
    description_add("invoice.deleted", _("%(actor)s deleted draft %(number)s"), kind=Kind.INVOICES)
    description_add("invoices.evidence_downloaded", _evidence_of_many, kind=Kind.INVOICES)
    description_add(
        "invoicing_profile.changed", _("%(actor)s changed the invoicing profile"), kind=Kind.SETTINGS, link=profile_link
    )
    description_add(
        "buyer.created", _("%(actor)s added %(name)s to the address book"), kind=Kind.SETTINGS, link=buyer_link
    )
    description_add(
        "buyer.changed", _("%(actor)s changed %(name)s in the address book"), kind=Kind.SETTINGS, link=buyer_link
    )
    description_add("buyer.deleted", _("%(actor)s removed %(name)s from the address book"), kind=Kind.SETTINGS)
    description_add("clearvo_account.changed", _("%(actor)s set the office's Clearvo API key"), kind=Kind.SETTINGS)
    description_add("clearvo_account.removed", _("%(actor)s removed the office's Clearvo API key"), kind=Kind.SETTINGS)
    COMMENT_TARGETS["invoice"] = _invoice_page
