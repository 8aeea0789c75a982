"""The office's clearance queue (docs/cockpit.md): the page of every open problem the person may see,
its counts per company, its filters and the bulk bar that posts to the cockpit's actions."""

from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from clearfacts_app.pages import list_filters
from clearfacts_app.roles import may_each
from invoicing import cockpit as queue
from invoicing.cockpit_actions import assignees_for
from invoicing.cockpit_forms import QueueFilterForm
from invoicing.cockpit_rows import item_view
from portal.htmx import wants_partial

TEMPLATE = "invoicing/cockpit.html"
# The part of the page that refreshes itself (HTMX): the counts, never the rows someone is ticking.
COUNTS = "cockpit-counts"
REFRESH_SECONDS = 30


def _candidates(items) -> list:
    """Everyone who may read at least one of the items' companies, once each, by name."""
    administrations = {item.administration.pk: item.administration for item in items}
    people = {}
    for users in assignees_for(list(administrations.values())).values():
        for user in users:
            people.setdefault(user.pk, user)
    return sorted(people.values(), key=lambda user: (str(user).lower(), user.pk))


@require_GET
def cockpit(request):
    """Open problems of every company the person may see, most urgent first (associates and client users)."""
    administrations = queue.visible_administrations(request.user)
    form = QueueFilterForm(request.GET or None, administrations=administrations)
    values = form.values() if form.is_bound else {}
    page = queue.queue_items(
        user=request.user,
        problem=values.get("problem"),
        administration=values.get("administration"),
        assignee=values.get("assignee"),
        country=values.get("country"),
        page=request.GET.get("page"),
        per_page=queue.PAGE_SIZE,
        administrations=administrations,
    )
    if wants_partial(request) and request.htmx.target == COUNTS:
        counts = {"page": page, "problems": queue.Problem, "counts_id": COUNTS, "refresh_seconds": REFRESH_SECONDS}
        response = render(request, f"{TEMPLATE}#counts", counts)
        patch_vary_headers(response, ["HX-Request", "HX-Target"])
        return response

    allowed = may_each(request.user, {item.administration.pk for item in page.items})
    for item in page.items:
        item.may = allowed[item.administration.pk]
    may_draft = any(item.may.draft for item in page.items)
    may_submit = any(item.may.submit for item in page.items)
    may_upload = any(item.document is not None and item.may.upload for item in page.items)
    may_act = may_draft or may_submit or may_upload
    for position, item in enumerate(page.items, start=1):
        item.view = item_view(item, reader=request.user, position=position, choose_column=may_act)
    context = {
        "form": form,
        "filtered": bool(values),
        "filters": list_filters(**{name: str(value) for name, value in values.items()}),  # what page links keep
        "page": page,
        "problems": queue.Problem,
        "counts_id": COUNTS,
        "refresh_seconds": REFRESH_SECONDS,
        "act_url": reverse("invoicing:cockpit-act"),
        "may_assign": may_draft,  # assign and poll need DRAFT; retry and hold SUBMIT (a document's retry UPLOAD)
        "may_retry": may_submit or may_upload,
        "may_hold": may_submit,
        "may_act": may_act,
        "candidates": _candidates(page.items) if may_draft else [],
    }
    response = render(request, TEMPLATE, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response
