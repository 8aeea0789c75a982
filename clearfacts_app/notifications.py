"""Telling people what concerns them: a row in the bell for each, and an e-mail for those who want one.

Only people who can see the administration are ever notified (a mention of anyone else reaches
nobody), never the person who caused it, and each cause (`key`) once per person and kind.
"""

from django.db import transaction

from clearfacts_app.models import Notification
from clearfacts_app.roles import Action, can


def notify(
    *,
    recipients,
    administration,
    kind: str,
    key: str,
    actor=None,
    data: dict | None = None,
    url: str = "",
) -> list[Notification]:
    """Writes the notifications of one cause; call it inside the transaction of the change.

    Returns the rows written now (a recipient already told of `key` gets nothing new).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notify must run inside the transaction of the change it tells about")
    people = {person.pk: person for person in recipients if person is not None}
    if actor is not None:
        people.pop(actor.pk, None)
    allowed = [person for person in people.values() if can(person, Action.READ, administration)]
    already = set(
        Notification.objects.filter(recipient__in=allowed, kind=kind, key=key).values_list("recipient_id", flat=True)
    )
    rows = [
        Notification(
            recipient=person,
            administration=administration,
            actor=actor,
            kind=kind,
            key=key,
            data=data or {},
            url=url,
        )
        for person in allowed
        if person.pk not in already
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return rows
