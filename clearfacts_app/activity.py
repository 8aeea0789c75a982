"""Activity rows: what was done to an administration, by whom, recorded with the change itself."""

from django.db import transaction

from clearfacts_app.models import Activity, Administration


def activity_record(*, administration: Administration, actor, action: str, data: dict | None = None) -> Activity:
    """Appends an activity row; call it inside the transaction of the state change it records, so
    that the change and its row are kept or rolled back together."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("activity_record must run inside the transaction of the change it records")
    return Activity.objects.create(administration=administration, actor=actor, action=action, data=data or {})
