"""Comments on the documents and invoices of an administration, and the people they mention.

A mention is `@` followed by a person's name as the portal shows it ("@Jan Peeters") or by the
part of their e-mail address before the "@" ("@jan.peeters"), in any case; the longest name that
fits wins, so "@Jan Peeters" is Jan Peeters even when someone is called "Jan". Only people who can
see the administration (`mentionable`) can be mentioned; any other "@word" is plain text, and
nobody else is ever notified.

What can be commented on is a small registry (`commentable_add`): clearfacts_app registers its
documents here, invoicing its invoices from its AppConfig.ready, so this module never imports
invoicing.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clearfacts_app.activity import activity_record, changes_between
from clearfacts_app.models import Administration, Comment, Document, DocumentComment, Notification
from clearfacts_app.notifications import notify
from clearfacts_app.people import shows_email
from clearfacts_app.roles import Action, can

MAX_LENGTH = Comment._meta.get_field("body").max_length


@dataclass(frozen=True)
class Commentable:
    """A kind of thing people comment on: its model, its comment model and how it is named.

    URLs follow one convention: the page is `page_url_name` with `company_number` and
    `<kind>_pk`; the comment views are `<url_prefix>-comments`, `-comment`, `-comment-edit`,
    `-comment-delete` and `-mentionable` with the same arguments (and `<comment model>_pk`).
    """

    kind: str  # "document", "invoice": the activity's and the notification's `target`
    model: type[Model]
    comment_model: type[Comment]
    field: str  # the comment model's foreign key to `model`
    page_url_name: str
    url_prefix: str  # "clearfacts_app:document"
    label_key: str  # "filename", "number": the name of the label in activity and notification data
    label: Callable[[Model], str]

    def page_url(self, target) -> str:
        return reverse(self.page_url_name, kwargs=self.url_kwargs(target))

    def url_kwargs(self, target) -> dict:
        return {"company_number": target.administration.company_number, f"{self.kind}_pk": target.pk}

    def url(self, name: str, target, comment=None) -> str:
        kwargs = self.url_kwargs(target)
        if comment is not None:
            kwargs[f"{self.comment_model._meta.model_name}_pk"] = comment.pk
        return reverse(f"{self.url_prefix}-{name}", kwargs=kwargs)

    def data(self, target, comment) -> dict:
        return {"target": self.kind, "id": target.pk, self.label_key: self.label(target), "comment": comment.pk}


_COMMENTABLES: dict[type[Model], Commentable] = {}


def commentable_add(entry: Commentable) -> None:
    _COMMENTABLES[entry.model] = entry


def commentable_for(target) -> Commentable:
    return _COMMENTABLES[type(target)]


commentable_add(
    Commentable(
        kind="document",
        model=Document,
        comment_model=DocumentComment,
        field="document",
        page_url_name="clearfacts_app:document-detail",
        url_prefix="clearfacts_app:document",
        label_key="filename",
        label=lambda document: document.filename,
    )
)


# --- selectors -------------------------------------------------------------------------------


def mentionable(administration: Administration) -> QuerySet:
    """The people who can see `administration` (a grant within its office), ordered by name."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            administration_accesses__administration=administration,
            membership__office_id=administration.office_id,
        )
        .select_related("membership")
        .distinct()
        .order_by(Lower("display_name"), Lower("first_name"), Lower("last_name"), "email")
    )


def mention_name(person, viewer=None) -> str:
    """What to type after "@" to mention `person` (their name, or their e-mail's local part); as
    `viewer` may type it: "" when `viewer` is a client user and `person` an associate without a name
    (a client user is not shown an associate's e-mail address, not even its first part)."""
    return (person.get_full_name() or "").strip() or _local_part(person, viewer)


def _local_part(person, viewer=None) -> str:
    if viewer is not None and not shows_email(viewer, person):
        return ""
    return (person.email or "").partition("@")[0]


def _names(person, viewer=None) -> set[str]:
    """The lower-case names `person` is mentioned by (by `viewer`: see mention_name)."""
    return {name.lower() for name in ((person.get_full_name() or "").strip(), _local_part(person, viewer)) if name}


# An "@" that starts a mention: at the start, or after something that is not a letter, digit or "@"
# (so the "@" of an e-mail address in the text is not one).
_MENTION_START = re.compile(r"(?<![\w@])@")
_NAME_CONTINUES = re.compile(r"[\w-]")


def mention_spans(body: str, people, viewer=None) -> list[tuple[int, int, list]]:
    """(start, end, people) of each "@name" in `body` that names one of `people` (longest name first;
    as `viewer` may name them, see mention_name)."""
    by_name: dict[str, list] = {}
    for person in people:
        for name in _names(person, viewer):
            by_name.setdefault(name, []).append(person)
    names = sorted(by_name, key=len, reverse=True)
    spans, resume = [], 0
    for start in _MENTION_START.finditer(body):
        if start.start() < resume:
            continue
        rest = body[start.end() :]
        for name in names:
            typed = rest[: len(name)]
            if typed.lower() == name and not (len(rest) > len(name) and _NAME_CONTINUES.match(rest[len(name)])):
                end = start.end() + len(name)
                spans.append((start.start(), end, by_name[name]))
                resume = end
                break
    return spans


def _named(body: str, people, viewer=None) -> list:
    found = {}
    for _start, _end, named in mention_spans(body, people, viewer):
        for person in named:
            found[person.pk] = person
    return list(found.values())


def mentions_in(body: str, administration: Administration, author=None) -> list:
    """The people `body` mentions who can see `administration` (nobody else can be mentioned); a
    client user `author` mentions associates by name only, not by their e-mail address."""
    if "@" not in body:
        return []
    return _named(body, mentionable(administration), author)


def not_notified(*, body: str, administration: Administration, author) -> list:
    """People of the administration's office whom `body` names with "@" but who cannot see it, to tell
    the author they were not notified. Only associates of the office are told (they may read its
    people); nobody of another office is ever looked at, so nothing about them is revealed."""
    membership = getattr(author, "membership", None)
    if "@" not in body or membership is None or not membership.is_associate:
        return []
    if membership.office_id != administration.office_id:
        return []
    people = (
        get_user_model()
        .objects.filter(is_active=True, membership__office_id=administration.office_id)
        .exclude(pk__in=mentionable(administration).values("pk"))
    )
    return _named(body, people)


def mention_suggestions(*, administration: Administration, prefix: str, limit: int = 8, viewer=None) -> list:
    """The mentionable people whose name, or e-mail's local part, starts with `prefix` (or contains it).

    For a client user `viewer`, associates are offered and found by their name only (never by
    their e-mail address; one without a name is not offered). The viewer is not offered: mentioning
    oneself notifies nobody."""
    prefix = prefix.strip().lower()
    others = mentionable(administration).exclude(pk=getattr(viewer, "pk", None))
    names = {person: _names(person, viewer) for person in others}
    people = [person for person, named in names.items() if named]
    if not prefix:
        return people[:limit]
    starts = [person for person in people if any(name.startswith(prefix) for name in names[person])]
    contains = [person for person in people if person not in starts and any(prefix in name for name in names[person])]
    return (starts + contains)[:limit]


_TYPED_MENTION = re.compile(r"(?<![\w@])@(?P<prefix>[^@\n]{0,40})$")


def typed_prefix(body: str) -> str | None:
    """What follows the last "@" at the end of `body` (being typed), or None when the text does not end in a mention."""
    match = _TYPED_MENTION.search(body or "")
    return match["prefix"] if match else None


def comment_thread(target) -> QuerySet:
    """The comments on `target`, oldest first, with their authors and the people they mention."""
    entry = commentable_for(target)
    return (
        entry.comment_model.objects.filter(**{entry.field: target}, administration_id=target.administration_id)
        .select_related("author")
        .prefetch_related("mentioned")
        .order_by("created_at", "pk")
    )


def comment_of(target, pk) -> Comment | None:
    """A comment on `target` found through it (None when there is no such comment on it)."""
    return comment_thread(target).filter(pk=pk).first()


# --- services --------------------------------------------------------------------------------


def _clean(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("Write a comment first."), code="required")
    if len(body) > MAX_LENGTH:
        raise ValidationError(
            _("A comment can be at most %(limit)d characters long.") % {"limit": MAX_LENGTH}, code="max_length"
        )
    return body


def _may_comment(person, administration) -> None:
    if not can(person, Action.COMMENT, administration):
        raise PermissionDenied(_("Your role on this administration lets you read comments, not write them."))


def _author_only(comment, actor, refusal: str) -> None:
    if comment.author_id != actor.pk:
        raise PermissionDenied(refusal)


def _target_of(comment):
    for entry in _COMMENTABLES.values():
        if isinstance(comment, entry.comment_model):
            return entry, getattr(comment, entry.field)
    raise LookupError(type(comment))


def _notify_mentioned(*, entry: Commentable, target, comment, people, actor) -> list[Notification]:
    return notify(
        recipients=people,
        administration=comment.administration,
        kind=Notification.Kind.MENTIONED,
        key=f"{entry.kind}-comment:{comment.pk}",
        actor=actor,
        data=entry.data(target, comment) | {"excerpt": comment.body[:140]},
        url=f"{entry.page_url(target)}#comment-{comment.pk}",
    )


def comment_create(*, target, author, body: str) -> Comment:
    """Adds `author`'s comment to `target` (a Document, an Invoice) and notifies the people it mentions
    who can see the administration (not the author). Raises ValidationError for an empty or too long
    body and PermissionDenied when the author may not comment there."""
    entry = commentable_for(target)
    administration = target.administration
    _may_comment(author, administration)
    body = _clean(body)
    with transaction.atomic():
        comment = entry.comment_model.objects.create(
            **{entry.field: target}, administration=administration, author=author, body=body
        )
        people = mentions_in(body, administration, author)
        comment.mentioned.set(people)
        activity_record(
            administration=administration,
            actor=author,
            action="comment.added",
            data=entry.data(target, comment),
        )
        _notify_mentioned(entry=entry, target=target, comment=comment, people=people, actor=author)
    return comment


def comment_edit(*, comment: Comment, actor, body: str) -> Comment:
    """The author changes their comment: it is marked edited, and the people it newly mentions are
    notified (those already notified of it are not notified again)."""
    entry, target = _target_of(comment)
    administration = comment.administration
    _author_only(comment, actor, _("Only the author of a comment can edit it."))
    _may_comment(actor, administration)
    if comment.is_deleted:
        raise ValidationError(_("This comment was deleted."), code="deleted")
    body = _clean(body)
    if body == comment.body:
        return comment
    with transaction.atomic():
        before = {"body": comment.body}
        already = set(comment.mentioned.values_list("pk", flat=True))
        comment.body, comment.edited_at = body, timezone.now()
        comment.save(update_fields=["body", "edited_at"])
        people = mentions_in(body, administration, actor)
        comment.mentioned.set(people)
        activity_record(
            administration=administration,
            actor=actor,
            action="comment.edited",
            data=entry.data(target, comment),
            changes=changes_between(before, comment, ["body"]),
        )
        new = [person for person in people if person.pk not in already]
        _notify_mentioned(entry=entry, target=target, comment=comment, people=new, actor=actor)
    return comment


def comment_delete(*, comment: Comment, actor) -> Comment:
    """The author deletes their comment; the thread keeps its place ("Comment deleted")."""
    entry, target = _target_of(comment)
    _author_only(comment, actor, _("Only the author of a comment can delete it."))
    _may_comment(actor, comment.administration)
    if comment.is_deleted:
        return comment
    with transaction.atomic():
        comment.deleted_at = timezone.now()
        comment.save(update_fields=["deleted_at"])
        activity_record(
            administration=comment.administration,
            actor=actor,
            action="comment.deleted",
            data=entry.data(target, comment),
        )
        _mentions_forget(entry=entry, comment=comment)
    return comment


def _mentions_forget(*, entry: Commentable, comment) -> None:
    """The notifications of a deleted comment keep no word of it: their excerpt is blanked (the page
    and any later e-mail), and an e-mail still waiting is not sent (NO)."""
    rows = list(
        Notification.objects.select_for_update().filter(
            kind=Notification.Kind.MENTIONED, key=f"{entry.kind}-comment:{comment.pk}"
        )
    )
    for row in rows:
        row.data = (row.data or {}) | {"excerpt": ""}
        if row.emailed == Notification.Emailed.WAITING:
            row.emailed = Notification.Emailed.NO
    Notification.objects.bulk_update(rows, ["data", "emailed"])
