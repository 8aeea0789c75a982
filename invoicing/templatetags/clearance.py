"""The TEST or LIVE badge of the invoice pages, and the editor's note on a refused submission."""

from django import template

from invoicing import selectors
from invoicing.models import Submission

register = template.Library()


def _key_in_use(context) -> selectors.KeyInUse:
    """Read once per request, however many badges the page shows."""
    request = context.get("request")
    cached = getattr(request, "_clearvo_key_in_use", None)
    if cached is None:
        user = context.get("user")
        cached = selectors.clearvo_key_in_use(office=getattr(user, "office", None))
        if request is not None:
            request._clearvo_key_in_use = cached
    return cached


@register.inclusion_tag("invoicing/clearvo_badge.html", takes_context=True)
def clearvo_badge(context, submission: Submission | None = None):
    """`{% clearvo_badge %}`: the mode a submission would use now; `{% clearvo_badge submission %}`: the one it used."""
    if submission is not None:
        mode, own, missing, used = submission.api_mode, True, False, True
    else:
        key = _key_in_use(context)
        mode, own, missing, used = key.mode, key.own, key.is_missing, False
    return {"live": mode == "live", "test": mode == "test", "own": own, "missing": missing, "used": used}


@register.inclusion_tag("invoicing/clearance_refusal.html")
def clearance_refusal(invoice):
    """On the editor: what Clearvo refused in the latest submission, each violation linked to its field."""
    if invoice is None or invoice.pk is None:
        return {"attempt": None}
    latest = invoice.submissions.order_by("-created_at", "-pk").first()
    if latest is None or latest.state != Submission.State.REFUSED:
        return {"attempt": None}
    return {"attempt": latest, "violations": selectors.violations_of(latest)}
