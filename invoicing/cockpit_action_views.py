"""The clearance queue's form posts here: one action on the items ticked, then back to the page.

POST fields (docs/cockpit.md): `action` (assign, poll, retry, hold), `item` repeated
("invoice:<pk>", "document:<pk>"), `assignee` (a person's id, or "nobody" to clear it; assign only) and `next`
(a relative address of the portal to go back to; the queue when missing or not acceptable). The
answer is a redirect with messages: a summary, and one message per refused row. Rights are checked
on each row (invoicing.cockpit_actions), never refused for the whole post.
"""

from urllib.parse import urlsplit

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import User
from clearfacts_app.roles import Action, checks_each_row
from invoicing import cockpit_actions
from portal.parsing import is_number

# The assignee list's "Nobody" (clears the assignment); an empty choice is no choice at all.
NOBODY = "nobody"


def _assigned(count: int, assignee) -> str:
    if assignee is None:
        return ngettext(
            "%(count)d problem is assigned to nobody now.", "%(count)d problems are assigned to nobody now.", count
        ) % {"count": count}
    return ngettext("%(count)d problem assigned to %(name)s.", "%(count)d problems assigned to %(name)s.", count) % {
        "count": count,
        "name": cockpit_actions.person_name(assignee),
    }


def _polled(count: int, assignee) -> str:
    return ngettext(
        "The status of %(count)d invoice is being asked of Clearvo.",
        "The status of %(count)d invoices is being asked of Clearvo.",
        count,
    ) % {"count": count}


def _retried(count: int, assignee) -> str:
    return ngettext("%(count)d problem is being sent again.", "%(count)d problems are being sent again.", count) % {
        "count": count
    }


def _held(count: int, assignee) -> str:
    return ngettext(
        "%(count)d send held: nothing is sent until a person decides.",
        "%(count)d sends held: nothing is sent until a person decides.",
        count,
    ) % {"count": count}


# action: (the service, its summary)
ACTIONS = {
    "assign": (cockpit_actions.items_assign, _assigned),
    "poll": (cockpit_actions.items_poll, _polled),
    "retry": (cockpit_actions.items_retry, _retried),
    "hold": (cockpit_actions.items_hold, _held),
}


def _back(request) -> str:
    """`next` when it is a relative address of this site, else the queue."""
    url = request.POST.get("next", "").strip()
    parts = urlsplit(url)
    relative = url.startswith("/") and not parts.scheme and not parts.netloc
    if relative and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return url
    return reverse("invoicing:cockpit")


def _assignee(request):
    """(the person chosen or None for nobody, whether the choice is acceptable)."""
    value = (request.POST.get("assignee") or "").strip()
    if not value:
        return None, False  # nothing chosen: pressing Assign must not clear anyone's assignment
    if value == NOBODY:
        return None, True
    membership = getattr(request.user, "membership", None)
    if membership is None or not is_number(value) or len(value) > 18:
        return None, False
    person = User.objects.filter(pk=int(value), is_active=True, membership__office_id=membership.office_id).first()
    return person, person is not None


@require_POST
@checks_each_row(Action.DRAFT)  # the least an action needs; each row is checked for its own action
def cockpit_act(request):
    back = _back(request)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        messages.error(request, _("Choose what to do with the problems ticked."))
        return redirect(back)
    keys = [key for key in request.POST.getlist("item") if key.strip()]
    if not keys:
        messages.error(request, _("Tick the problems to act on first."))
        return redirect(back)
    if len(keys) > cockpit_actions.LIMIT:
        messages.error(
            request, _("At most %(limit)d problems can be handled at once.") % {"limit": cockpit_actions.LIMIT}
        )
        return redirect(back)
    service, summary = ACTIONS[action]
    assignee = None
    if action == "assign":
        assignee, acceptable = _assignee(request)
        if not acceptable:
            messages.error(request, _("Choose who takes care of them from the list (or “Nobody”), then assign."))
            return redirect(back)
        results = service(user=request.user, keys=keys, assignee=assignee)
    else:
        results = service(user=request.user, keys=keys)
    done = sum(1 for result in results if result.done)
    if done:
        messages.success(request, summary(done, assignee))
    else:
        messages.warning(request, _("Nothing was changed."))
    for result in results:
        if not result.done:
            messages.error(request, _("%(subject)s: %(reason)s") % {"subject": result.subject, "reason": result.reason})
    return redirect(back)
