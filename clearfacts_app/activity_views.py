"""The activity feed: per administration (a tab of its page) and per office (every administration
the user sees, and for office administrators the office's own rows).

One template; HTMX asks for its parts: the poll for rows newer than the newest shown (`?after=`,
every POLL_SECONDS; nothing, 204, when there are none), the next older rows (`?before=`, keyset),
and the feed alone when a filter changes.
"""

from django.db.models import Q
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.models import User
from clearfacts_app import activity
from clearfacts_app.models import Activity, Administration
from clearfacts_app.roles import Action, is_office_admin, requires
from clearfacts_app.tabs import administration_tab
from portal.htmx import wants_partial

TEMPLATE = "clearfacts_app/activity.html"
POLL_SECONDS = 15
FEED_TARGET = "activity-feed"


def _number(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < 2**63 else None


def _feed(request, scope, *, people, url: str, show_administration: bool) -> dict | HttpResponse:
    """The context of the feed's page; or, for HTMX, the response of its part: the poll (rows
    newer than `?after=`), the older rows (`?before=`), the feed alone (a filter changed)."""
    kind = request.GET.get("kind", "") if request.GET.get("kind", "") in activity.Kind.values else ""
    person = _number(request.GET.get("person"))
    filters = QueryDict(mutable=True)
    filters.update({name: value for name, value in (("kind", kind), ("person", person)) if value not in ("", None)})
    activities = activity.feed_filter(scope, kind=kind, person=person)
    context = {
        "url": url,
        "filters": filters,
        "kind": kind,
        "person": person,
        "kinds": activity.Kind.choices,
        "people": people,
        "show_administration": show_administration,
        "poll_seconds": POLL_SECONDS,
    }
    after = _number(request.GET.get("after"))
    if after is not None:
        rows = activity.feed_newer(scope, activities, after=after)
        if not rows:
            return HttpResponse(status=204)  # HTMX swaps nothing; the poll goes on
        context |= {"entries": activity.entries(rows), "newest": rows[0].pk}
        return render(request, f"{TEMPLATE}#new_rows", context)
    older_page = "before" in request.GET
    rows, has_older = activity.feed_page(scope, activities, before=_number(request.GET.get("before")))
    newest = None  # an older page does not poll
    if not older_page:
        newest = rows[0].pk if rows else activity.feed_newest_id(scope)
    context |= {
        "entries": activity.entries(rows),
        "newest": newest,
        "oldest": rows[-1].pk if rows and has_older else None,
        "older_page": older_page,
    }
    if wants_partial(request) and older_page:
        return render(request, f"{TEMPLATE}#older_rows", context)
    if wants_partial(request) and request.htmx.target == FEED_TARGET:
        return render(request, f"{TEMPLATE}#feed", context)
    return context


@require_GET
@requires(Action.READ, refusal=gettext_lazy("You cannot see this administration's activity."))
def administration_activity(request, company_number):
    administration = request.administration
    scope = Activity.objects.filter(administration=administration)
    people = (
        User.objects.filter(administration_accesses__administration=administration)
        .select_related("membership")  # a client user is shown associates' names, not their addresses
        .order_by("display_name", "pk")
    )
    feed = _feed(request, scope, people=people, url=request.path, show_administration=False)
    if isinstance(feed, HttpResponse):
        return feed
    return administration_tab(request, "activity", **feed)


@require_GET
def office_activity(request):
    membership = getattr(request.user, "membership", None)
    if membership is None:
        raise Http404
    visible = Administration.objects.visible_to(request.user).values("pk")
    rows = Q(administration__in=visible)
    people = User.objects.filter(administration_accesses__administration__in=visible)
    if is_office_admin(request.user) and membership.is_associate:
        rows |= Q(administration__isnull=True)  # the office's own rows (its Clearvo account, roles)
        people = User.objects.filter(membership__office_id=membership.office_id)
    scope = Activity.objects.filter(office_id=membership.office_id).filter(rows)
    people = people.select_related("membership").distinct().order_by("display_name", "pk")
    feed = _feed(request, scope, people=people, url=request.path, show_administration=True)
    if isinstance(feed, HttpResponse):
        return feed
    return render(request, TEMPLATE, feed)
