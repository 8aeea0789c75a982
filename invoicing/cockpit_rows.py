"""An item of the clearance queue as the values its row shows, so that its HTML can be kept under them
(the `fragments` cache), as invoicing.list_rows does for the invoice lists: the row is drawn from an
`ItemView` alone (invoicing/cockpit_item.html, included `only`)."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.translation import get_language

from clearfacts_app.people import person_name
from invoicing.cockpit import QueueItem


@dataclass(frozen=True)
class ItemView:
    language: str
    time_zone: str
    position: int  # from 1, on the page: the checkbox's id
    key: str
    problem: str
    problem_label: str
    tone: str
    company: str
    label: str
    url: str
    reason: str
    since: datetime | None
    since_text: str  # "3 hours ago", as of now
    due: datetime | None
    assignee: str  # the name as the reader is shown it ("" for nobody)
    choosable: bool  # the reader may act on it
    choose_column: bool  # the page has a checkbox column


def item_view(item: QueueItem, *, reader, position: int, choose_column: bool) -> ItemView:
    """`item` as the queue shows it to `reader`; `item.may` is set (invoicing.cockpit_views)."""
    assignee = item.assignee
    return ItemView(
        language=get_language(),
        time_zone=timezone.get_current_timezone_name(),
        position=position,
        key=item.key,
        problem=item.problem.value,
        problem_label=str(item.problem.label),
        tone=item.tone,
        company=item.administration.name,
        label=item.label,
        url=item.url,
        reason=str(item.reason),
        since=item.since,
        since_text=str(naturaltime(item.since)) if item.since else "",
        due=item.due,
        assignee=person_name(reader, assignee) if assignee is not None else "",
        choosable=bool(item.may.draft or (item.document is not None and item.may.upload)),
        choose_column=choose_column,
    )
