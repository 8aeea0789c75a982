"""Activity rows: what was done to an administration (or its office), by whom, recorded with the
change itself. They are the feed people read and the audit log staff read (clearfacts_app.models.Activity)."""

from django.db import transaction
from django.db.models import Model

from clearfacts_app.models import Activity, Administration


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
