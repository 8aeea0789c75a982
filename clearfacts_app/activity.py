"""Activity rows: what was done to an administration (or its office), by whom, recorded with the
change itself. They are the feed people read and the audit log staff read (clearfacts_app.models.Activity)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import Model, Q
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from clearfacts_app.models import Activity, Administration, Document
from clearfacts_app.roles import Role

logger = logging.getLogger(__name__)


def activity_record(
    *,
    administration: Administration | None,
    actor,
    action: str,
    data: dict | None = None,
    changes: dict | None = None,
    office=None,
) -> Activity:
    """Appends an activity row; call it inside the transaction of the state change it records, so
    that the change and its row are kept or rolled back together. `changes` is {field: [before,
    after]} (see `changes_between`); a row about the office itself gives `office` and no administration."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("activity_record must run inside the transaction of the change it records")
    if administration is None and office is None:
        raise ValueError("an activity row belongs to an administration or an office")
    return Activity.objects.create(
        office_id=office.pk if office is not None else administration.office_id,
        administration=administration,
        actor=actor,
        action=action,
        data=data or {},
        changes=changes or {},
    )


def _plain(value):
    if isinstance(value, Model):
        return value.pk
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def changes_between(before: Model | dict, after: Model, fields) -> dict:
    """{field: [before, after]} of the `fields` whose value differs, as JSON-friendly values
    (`before` is a copy of the instance taken before the change, or a dict of its old values)."""
    changed = {}
    for name in fields:
        old = before.get(name) if isinstance(before, dict) else getattr(before, name)
        new = getattr(after, name)
        if _plain(old) != _plain(new):
            changed[name] = [_plain(old), _plain(new)]
    return changed


def activities_record(activities: list[Activity]) -> list[Activity]:
    """The rows of a bulk state change (a sweeper's UPDATE of many rows), written at once; like
    `activity_record`, only inside the transaction of the change."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("activity rows must be written in the transaction of the change they record")
    return Activity.objects.bulk_create(activities) if activities else []


# What each action code says, in the reader's language
#
# A description is a translatable "%(name)s" text formatted with the row's `data`, `actor` (who
# did it) and `number` (an invoice's number, whichever key its writer used), or a function of
# (activity, params) returning the sentence. `kind` groups codes for the feed's filter; `link`
# gives the URL of the object the row is about ("" when none). Other apps add their own codes
# from their AppConfig.ready (clearfacts_app imports none of them).


class Kind(models.TextChoices):
    DOCUMENTS = "documents", gettext_lazy("Documents")
    INVOICES = "invoices", gettext_lazy("Invoices")
    REVIEWS = "reviews", gettext_lazy("Reviews and approvals")
    COMMENTS = "comments", gettext_lazy("Comments")
    SETTINGS = "settings", gettext_lazy("People and settings")


@dataclass(frozen=True)
class Description:
    text: str | Promise | Callable[[Activity, dict], str]
    kind: str = ""
    link: Callable[[Activity], str] | None = None


DESCRIPTIONS: dict[str, Description] = {}


def description_add(action: str, text, *, kind: str = "", link: Callable[[Activity], str] | None = None) -> None:
    """Registers how rows of `action` read (a later registration of the same code replaces it)."""
    DESCRIPTIONS[action] = Description(text, kind, link)


def actions_of(kind: str) -> list[str]:
    return sorted(action for action, description in DESCRIPTIONS.items() if description.kind == kind)


def actor_name(activity: Activity) -> str:
    if activity.actor_id is None:
        return gettext("The portal")
    return str(activity.actor)


# Data keys that hold a person's id, and the name under which the sentence shows that person (read
# from the user row when the page is shown: rows written before a name was stored read well too).
PERSON_KEYS = {"reviewer": "reviewer_name"}


def _person_ids(activity: Activity) -> set[int]:
    data = activity.data if isinstance(activity.data, dict) else {}
    return {
        int(data[key])
        for key, name in PERSON_KEYS.items()
        if not data.get(name) and isinstance(data.get(key), int) and not isinstance(data.get(key), bool)
    }


def people_load(activities) -> None:
    """Reads, in one query, the names of the people the `activities` refer to by id (a reviewer), so
    that describing each of them asks the database nothing more."""
    activities = list(activities)
    wanted = set().union(*(_person_ids(activity) for activity in activities)) if activities else set()
    names = {}
    if wanted:
        names = {person.pk: str(person) for person in get_user_model().objects.filter(pk__in=wanted)}
    for activity in activities:
        activity._people = {pk: names[pk] for pk in _person_ids(activity) if pk in names}


def _people(activity: Activity) -> dict:
    if not hasattr(activity, "_people"):
        people_load([activity])
    return activity._people


def _label(data: dict) -> str:
    """What a comment row is about: "invoice 2026-001", "factuur.pdf" (the keys its writer used)."""
    if data.get("label"):
        return str(data["label"])
    if data.get("number"):
        return gettext("invoice %(number)s") % {"number": data["number"]}
    if data.get("filename"):
        return str(data["filename"])
    return gettext("an invoice") if data.get("target") == "invoice" else gettext("a document")


def _params(activity: Activity) -> dict:
    data = activity.data if isinstance(activity.data, dict) else {}
    params = {key: value for key, value in data.items() if isinstance(value, str | int | float)}
    params.setdefault("number", data.get("invoice_number") or data.get("number") or "")
    params.setdefault("user_name", data.get("name") or gettext("someone"))
    for key, name in PERSON_KEYS.items():
        if key in data and not params.get(name):
            person = data[key] if isinstance(data[key], int) else None
            params[name] = _people(activity).get(person) or gettext("a colleague")
    if activity.action.startswith("comment."):
        params["label"] = _label(data)
    params["actor"] = actor_name(activity)
    return params


def describe(activity: Activity) -> str:
    """The row as a sentence in the active language; its code when the code is unknown or its
    parameters do not fit (never an error: the feed and the audit log must always show)."""
    description = DESCRIPTIONS.get(activity.action)
    if description is None:
        return activity.action
    try:
        if callable(description.text):
            return str(description.text(activity, _params(activity)))
        return str(description.text) % _params(activity)
    except (KeyError, TypeError, ValueError):
        logger.warning("activity %s: %s cannot be described with %r", activity.pk, activity.action, activity.data)
        return activity.action


def link(activity: Activity) -> str:
    """The page of the object the row is about, or "" (none, or it cannot be reached)."""
    description = DESCRIPTIONS.get(activity.action)
    if description is None or description.link is None or activity.administration_id is None:
        return ""
    try:
        return description.link(activity) or ""
    except (KeyError, TypeError, ValueError, NoReverseMatch):
        return ""


def document_link(activity: Activity) -> str:
    return _document_target(activity, int(activity.data["document"]))


def comment_link(activity: Activity) -> str:
    """A comment's target: a document here; invoicing registers its own `comment_targets` entry."""
    data = activity.data
    target = COMMENT_TARGETS.get(data.get("target"))
    if target is None:
        return ""
    url = target(activity, int(data["target_id"] if "target_id" in data else data["id"]))
    return f"{url}#comment-{int(data['comment'])}" if data.get("comment") else url


def _document_target(activity: Activity, pk: int) -> str:
    return reverse(
        "clearfacts_app:document-detail",
        kwargs={"company_number": activity.administration.company_number, "document_pk": pk},
    )


COMMENT_TARGETS: dict[str, Callable[[Activity, int], str]] = {"document": _document_target}

DOCUMENT_STATUS_TEXTS = {
    Document.Status.QUEUED: gettext_lazy("%(filename)s is queued to be sent to Clearfacts again"),
    Document.Status.SENT: gettext_lazy("Clearfacts received %(filename)s"),
    Document.Status.FAILED: gettext_lazy("%(filename)s could not be sent to Clearfacts"),
    Document.Status.HELD: gettext_lazy("%(filename)s is held: someone must confirm whether to send it"),
    Document.Status.NEEDS_SIGN_IN: gettext_lazy("%(filename)s waits until %(uploader)s signs in again"),
    Document.Status.CANCELLED: gettext_lazy("%(filename)s was cancelled"),
}


def _document_status(activity: Activity, params: dict) -> str:
    text = DOCUMENT_STATUS_TEXTS.get(params.get("status"))
    if text is None:
        return gettext("%(filename)s is now “%(status)s”") % params
    return str(text) % ({"uploader": gettext("its uploader")} | params)


def _person(params: dict) -> dict:
    """`user_name` for a sentence about a person: the row's "user_name", else its "name" (what the
    people page and the sync write), else "someone"."""
    return params | {"user_name": params.get("user_name") or params.get("name") or gettext("someone")}


def _role_changed(activity: Activity, params: dict) -> str:
    before, after = (activity.changes.get("role") or [None, None])[:2]
    labels = dict(Role.choices)
    params = _person(params) | {"old": labels.get(before, before or "—"), "new": labels.get(after, after or "—")}
    return gettext("%(actor)s changed the role of %(user_name)s from “%(old)s” to “%(new)s”") % params


def _membership_changed(activity: Activity, params: dict) -> str:
    return gettext("%(actor)s changed the office role of %(user_name)s") % _person(params)


def _access_granted(activity: Activity, params: dict) -> str:
    return gettext("Clearfacts gave %(user_name)s access") % _person(params)


def _access_withdrawn(activity: Activity, params: dict) -> str:
    return gettext("Clearfacts withdrew the access of %(user_name)s") % _person(params)


def _document_assigned(activity: Activity, params: dict) -> str:
    if params.get("assignee_name"):
        return gettext("%(actor)s asked %(assignee_name)s to take care of %(filename)s") % params
    return gettext("%(actor)s left %(filename)s to nobody in particular") % params


for _action, _text, _kind, _link in [
    ("document.uploaded", _("%(actor)s uploaded %(filename)s"), Kind.DOCUMENTS, document_link),
    ("document.retried", _("%(actor)s sent %(filename)s to Clearfacts again"), Kind.DOCUMENTS, document_link),
    ("document.sent_anyway", _("%(actor)s confirmed %(filename)s: it is sent anyway"), Kind.DOCUMENTS, document_link),
    ("document.cancelled", _("%(actor)s cancelled %(filename)s"), Kind.DOCUMENTS, document_link),
    ("document.status_changed", _document_status, Kind.DOCUMENTS, document_link),
    ("document.assigned", _document_assigned, Kind.DOCUMENTS, document_link),
    ("comment.added", _("%(actor)s commented on %(label)s"), Kind.COMMENTS, comment_link),
    ("comment.edited", _("%(actor)s edited a comment on %(label)s"), Kind.COMMENTS, comment_link),
    ("comment.deleted", _("%(actor)s deleted a comment on %(label)s"), Kind.COMMENTS, comment_link),
    ("access.role_changed", _role_changed, Kind.SETTINGS, None),
    ("access.granted", _access_granted, Kind.SETTINGS, None),
    ("access.withdrawn", _access_withdrawn, Kind.SETTINGS, None),
    ("membership.changed", _membership_changed, Kind.SETTINGS, None),
]:
    description_add(_action, _text, kind=_kind, link=_link)


# Reading the feed: newest first, keyset pages, and the rows newer than the newest shown

FEED_PAGE = 25
# A row committed a little after a later one (its transaction ran longer) is still found by the
# poll for rows newer than the newest shown: the poll looks this far back in time, by id.
LATE_COMMIT = timedelta(minutes=2)


@dataclass
class Entry:
    activity: Activity
    text: str
    url: str


def entries(activities) -> list[Entry]:
    activities = list(activities)
    people_load(activities)
    return [Entry(activity, describe(activity), link(activity)) for activity in activities]


def feed_filter(activities, *, kind: str = "", person: int | None = None):
    """`activities` of one kind of action (Kind) and by one person; unknown kinds filter nothing."""
    if kind in Kind.values:
        activities = activities.filter(action__in=actions_of(kind))
    if person is not None:
        activities = activities.filter(actor_id=person)
    return activities


def _position(scope, pk: int):
    return scope.filter(pk=pk).values_list("created_at", flat=True).first()


def feed_page(scope, activities, *, before: int | None = None) -> tuple[list[Activity], bool]:
    """One page of `activities` (a filtered `scope`), newest first, older than the row `before`
    when given; and whether older rows exist. Reads through the (…, -created_at, -id) indexes."""
    ordered = activities.select_related("actor", "administration").order_by("-created_at", "-pk")
    if before is not None:
        at = _position(scope, before)
        if at is None:
            return [], False
        ordered = ordered.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=before))
    rows = list(ordered[: FEED_PAGE + 1])
    return rows[:FEED_PAGE], len(rows) > FEED_PAGE


def feed_newer(scope, activities, *, after: int) -> list[Activity]:
    """The rows newer than the row `after` (at most a page, the oldest of them first served, so
    that the next poll continues from there), newest first. Its cost follows the new rows."""
    newer = activities.filter(pk__gt=after)
    if after:  # 0: the scope had no rows when the page was shown
        at = _position(scope, after)
        if at is None:
            return []
        newer = newer.filter(created_at__gte=at - LATE_COMMIT)
    rows = list(newer.select_related("actor", "administration").order_by("created_at", "pk")[:FEED_PAGE])
    rows.reverse()
    return rows


def feed_newest_id(scope) -> int:
    """Where an empty page's poll starts: the newest row of the whole scope (0 when none)."""
    return scope.order_by("-created_at", "-pk").values_list("pk", flat=True).first() or 0
