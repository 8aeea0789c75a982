"""`{% unread_notifications as count %}`: the bell's number, asked only where the bell is drawn."""

from django import template

from clearfacts_app import notifications

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    return notifications.unread_count(user)
