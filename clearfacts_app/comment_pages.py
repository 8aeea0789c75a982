"""What the comment views of documents (clearfacts_app.comment_views) and invoices
(invoicing.comment_views) share: the form, the thread's context and the request handling.

Every answer is a part of templates/includes/comments.html: the part alone for HTMX, the whole
comments page otherwise (or a redirect back to the commented page after a change), so the
thread works without JavaScript.
"""

import re
from types import SimpleNamespace

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearfacts_app import comments
from clearfacts_app.roles import Action, can, requires
from portal.htmx import wants_partial

TEMPLATE = "includes/comments.html"


def author_only(view):
    """Marks a view that only a comment's author may use (others get 403, whatever their role): the
    table-driven role walk reads `author_only` next to `required_action`."""
    view.author_only = True
    return view


class CommentForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Comment"),
        max_length=comments.MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": gettext_lazy("Write a comment first.")},
    )


def body_html(comment) -> str:
    """The comment's text, escaped, with its line breaks and the people it mentions highlighted."""
    body, parts, last = comment.body, [], 0
    for start, end, _people in comments.mention_spans(body, comment.mentioned.all()):
        parts.append(linebreaksbr(body[last:start], autoescape=True))
        parts.append(format_html('<strong class="text-primary-emphasis">{}</strong>', body[start:end]))
        last = end
    parts.append(linebreaksbr(body[last:], autoescape=True))
    return format_html_join("", "{}", ((part,) for part in parts))


def _row(request, entry, target, comment, *, edit_form=None, not_notified=()):
    may_comment = can(request.user, Action.COMMENT, target.administration)
    return SimpleNamespace(
        comment=comment,
        body=body_html(comment) if not comment.is_deleted else "",
        url=entry.url("comment", target, comment),
        edit_url=entry.url("comment-edit", target, comment),
        delete_url=entry.url("comment-delete", target, comment),
        mentionable_url=entry.url("mentionable", target),
        anchor=f"{entry.page_url(target)}#comment-{comment.pk}",
        mine=may_comment and comment.author_id == request.user.pk and not comment.is_deleted,
        edit_form=edit_form,
        body_id=f"comment-body-{entry.kind}-{target.pk}-{comment.pk}",
        not_notified=not_notified,
    )


def thread_context(request, target, *, form=None, editing=None, edit_form=None, not_notified=()) -> dict:
    """The context of the comments part of `target`'s page (`editing`: the comment shown as its edit form)."""
    entry = comments.commentable_for(target)
    may_comment = can(request.user, Action.COMMENT, target.administration)
    rows = [
        _row(
            request,
            entry,
            target,
            comment,
            edit_form=(edit_form or CommentForm(initial={"body": comment.body}))
            if editing is not None and comment.pk == editing.pk
            else None,
        )
        for comment in comments.comment_thread(target)
    ]
    thread = SimpleNamespace(
        kind=entry.kind,
        target=target,
        label=entry.label(target),
        page_url=entry.page_url(target),
        list_url=entry.url("comments", target),
        create_url=entry.url("comment-create", target),
        mentionable_url=entry.url("mentionable", target),
        may_comment=may_comment,
        rows=rows,
        form=form or CommentForm(),
        body_id=f"comment-body-{entry.kind}-{target.pk}",
        people=[
            # name: "" for someone the reader cannot mention by a name shown to them (see mention_name)
            SimpleNamespace(person=person, name=comments.mention_name(person, request.user))
            for person in comments.mentionable(target.administration)
        ]
        if may_comment
        else [],
        not_notified=not_notified,
    )
    return {"administration": target.administration, "thread": thread}


def _not_notified_names(request, target, body) -> list[str]:
    return [
        str(person)
        for person in comments.not_notified(body=body, administration=target.administration, author=request.user)
    ]


def _warn(request, names):
    for name in names:
        messages.warning(request, _("%(name)s cannot see this administration, so was not notified.") % {"name": name})


def comment_list(request, target):
    """The thread (HTMX), or the comments page (without JavaScript)."""
    if wants_partial(request):
        return render(request, f"{TEMPLATE}#thread", thread_context(request, target))
    return render(request, TEMPLATE, thread_context(request, target))


def comment_create(request, target):
    """A new comment: the thread again (HTMX), or back to the commented page."""
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = comments.comment_create(target=target, author=request.user, body=form.cleaned_data["body"])
        except ValidationError as error:
            form.add_error("body", error)
    if not form.is_valid():
        context = thread_context(request, target, form=form)
        if wants_partial(request):
            return render(request, f"{TEMPLATE}#thread", context)
        return render(request, TEMPLATE, context, status=400)
    names = _not_notified_names(request, target, comment.body)
    if wants_partial(request):
        return render(request, f"{TEMPLATE}#thread", thread_context(request, target, not_notified=names))
    messages.success(request, _("Your comment was added."))
    _warn(request, names)
    return redirect(f"{comments.commentable_for(target).page_url(target)}#comment-{comment.pk}")


def _comment(target, comment_pk):
    comment = comments.comment_of(target, comment_pk)
    if comment is None:
        raise Http404
    return comment


def comment_detail(request, target, comment_pk):
    """One comment (HTMX: what "Cancel" on the edit form puts back); otherwise its place on the page."""
    comment = _comment(target, comment_pk)
    entry = comments.commentable_for(target)
    if not wants_partial(request):
        return redirect(f"{entry.page_url(target)}#comment-{comment.pk}")
    return render(request, f"{TEMPLATE}#comment", {"row": _row(request, entry, target, comment)})


def comment_edit(request, target, comment_pk):
    """GET: the edit form in the comment's place; POST: the changed comment (author only)."""
    comment = _comment(target, comment_pk)
    entry = comments.commentable_for(target)
    if comment.is_deleted:
        raise Http404
    # Refused before any form is shown: only the author edits (comments.comment_edit checks it again).
    if comment.author_id != request.user.pk:
        raise PermissionDenied(_("Only the author of a comment can edit it."))
    form = CommentForm(request.POST or None, initial={"body": comment.body})
    if request.method == "POST" and form.is_valid():
        try:
            comments.comment_edit(comment=comment, actor=request.user, body=form.cleaned_data["body"])
        except ValidationError as error:
            form.add_error("body", error)
    if request.method == "POST" and form.is_valid():
        names = _not_notified_names(request, target, comment.body)
        if wants_partial(request):
            return render(
                request, f"{TEMPLATE}#comment", {"row": _row(request, entry, target, comment, not_notified=names)}
            )
        messages.success(request, _("Your comment was changed."))
        _warn(request, names)
        return redirect(f"{entry.page_url(target)}#comment-{comment.pk}")
    if wants_partial(request):
        return render(request, f"{TEMPLATE}#comment", {"row": _row(request, entry, target, comment, edit_form=form)})
    status = 400 if request.method == "POST" else 200
    return render(request, TEMPLATE, thread_context(request, target, editing=comment, edit_form=form), status=status)


def comment_delete(request, target, comment_pk):
    """Deletes the comment (author only); "Comment deleted" stays in its place."""
    comment = _comment(target, comment_pk)
    entry = comments.commentable_for(target)
    comments.comment_delete(comment=comment, actor=request.user)
    if wants_partial(request):
        return render(request, f"{TEMPLATE}#comment", {"row": _row(request, entry, target, comment)})
    messages.success(request, _("Your comment was deleted."))
    return redirect(f"{entry.page_url(target)}#comment-{comment.pk}")


_FIELD_ID = re.compile(r"[\w-]{1,80}")


def mention_suggestions(request, target):
    """The people who can see the administration whose name starts with what follows the "@" being
    typed in `body` (HTMX, into the list under the comment field)."""
    prefix = comments.typed_prefix(request.GET.get("body", ""))
    field = request.GET.get("for", "")
    people = (
        []
        if prefix is None
        else comments.mention_suggestions(administration=target.administration, prefix=prefix, viewer=request.user)
    )
    context = {
        "suggestions": [
            SimpleNamespace(person=person, name=comments.mention_name(person, request.user)) for person in people
        ],
        "typing": prefix is not None,
        "field": field if _FIELD_ID.fullmatch(field) else "",
    }
    return render(request, f"{TEMPLATE}#suggestions", context)


def comment_routes(prefix: str, target, *, kind: str) -> list:
    """The six routes of a thing's comments under `prefix` (ending in `<int:<kind>_pk>/comments/`),
    named `<kind>-comments`, `<kind>-comment-create`, `<kind>-mentionable`, `<kind>-comment`,
    `<kind>-comment-edit` and `<kind>-comment-delete`; `target(request, pk)` finds the thing
    through the URL's administration (404 otherwise). Documents and invoices use it alike."""
    from django.urls import path
    from django.views.decorators.http import require_GET, require_http_methods, require_POST

    readers = requires(Action.READ, refusal=gettext_lazy("You cannot see this administration."))
    commenters = requires(
        Action.COMMENT,
        refusal=gettext_lazy("Your role on this administration lets you read comments, not write them."),
    )
    target_arg, comment_arg = f"{kind}_pk", f"{kind}comment_pk"

    def thing(request, kwargs):
        return target(request, kwargs[target_arg])

    @require_GET
    @readers
    def thread(request, company_number, **kwargs):
        return comment_list(request, thing(request, kwargs))

    @require_POST
    @commenters
    def create(request, company_number, **kwargs):
        return comment_create(request, thing(request, kwargs))

    @require_GET
    @readers
    def mentionable(request, company_number, **kwargs):
        return mention_suggestions(request, thing(request, kwargs))

    @require_GET
    @readers
    def detail(request, company_number, **kwargs):
        return comment_detail(request, thing(request, kwargs), kwargs[comment_arg])

    @require_http_methods(["GET", "POST"])
    @author_only
    @commenters
    def edit(request, company_number, **kwargs):
        return comment_edit(request, thing(request, kwargs), kwargs[comment_arg])

    @require_POST
    @author_only
    @commenters
    def delete(request, company_number, **kwargs):
        return comment_delete(request, thing(request, kwargs), kwargs[comment_arg])

    one = f"{prefix}<int:{comment_arg}>/"
    return [
        path(prefix, thread, name=f"{kind}-comments"),
        path(f"{prefix}new/", create, name=f"{kind}-comment-create"),
        path(f"{prefix}people/", mentionable, name=f"{kind}-mentionable"),
        path(one, detail, name=f"{kind}-comment"),
        path(f"{one}edit/", edit, name=f"{kind}-comment-edit"),
        path(f"{one}delete/", delete, name=f"{kind}-comment-delete"),
    ]
