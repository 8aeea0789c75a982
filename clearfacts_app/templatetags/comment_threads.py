"""`{% comment_thread document %}` on a document's or an invoice's page: its comments and the form to add one."""

from django import template

from clearfacts_app import comment_pages

register = template.Library()


@register.inclusion_tag("includes/comments.html#comments", takes_context=True)
def comment_thread(context, target):
    return comment_pages.thread_context(context["request"], target) | {
        "csrf_token": context.get("csrf_token"),
        "user": context.get("user"),
        "request": context["request"],
    }
