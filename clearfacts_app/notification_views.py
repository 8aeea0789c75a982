"""The bell and the notifications page: a person's own notifications, nobody else's.

Notifications are personal, so these views need no role on an administration (role_not_required)
and every query is scoped to the signed-in recipient: another person's notification is 404.
"""

from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import role_not_required
from clearfacts_app import notifications
from clearfacts_app.models import Notification
from portal.parsing import is_number

PAGE_TEMPLATE = "clearfacts_app/notifications.html"
BELL_TEMPLATE = "includes/notification_bell.html"


@require_GET
def notification_list(request):
    """The person's notifications, newest first; those shown are read from now on."""
    before = request.GET.get("before", "")
    page, next_before = notifications.notifications_page(
        user=request.user, before=int(before) if is_number(before) and len(before) <= 18 else None
    )
    # The rows keep read_at as loaded, so the ones unread until now are still highlighted.
    notifications.notifications_mark_read(user=request.user, notification_ids=[row.pk for row in page])
    context = {
        "notifications": [(row, notifications.describe(row)) for row in page],
        "next_before": next_before,
        "first_page": not before,
    }
    return render(request, PAGE_TEMPLATE, context)


@require_GET
def notification_bell(request):
    """The bell alone, polled by HTMX from every page (one count query on the unread index)."""
    return render(request, BELL_TEMPLATE)


# A plain link (GET, then a redirect), not a form: it opens in a new tab, works from the keyboard
# and with no JavaScript, and what it changes is only the recipient's own read mark (idempotent,
# nothing another site gains by forcing it).
@require_GET
def notification_open(request, notification_pk: int):
    notification = get_object_or_404(notifications.notifications_of(request.user), pk=notification_pk)
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
    return redirect(notifications.safe_url(notification.url))


@require_POST
@role_not_required  # anyone signed in, viewers too: it marks only their own notifications
def notifications_read_all(request):
    notifications.notifications_mark_read(user=request.user)
    return redirect("clearfacts_app:notification-list")
