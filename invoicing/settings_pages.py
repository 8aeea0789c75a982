"""What the profile and address-book pages share: reading for everyone, changing by role, read-only rows."""

from functools import wraps

from django.utils.translation import gettext as _
from django_countries import countries

from clearfacts_app.roles import requires


def changes_need(action: str, *, refusal):
    """GET shows the page to everyone who sees the administration; any other method needs `action`
    there (declared as the view's `required_action`, which the role walk reads)."""

    def decorator(view):
        checked = requires(action, refusal=refusal)(view)

        @wraps(view)
        def dispatch(request, *args, **kwargs):
            if request.method in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            return checked(request, *args, **kwargs)

        dispatch.required_action = action
        dispatch.open_to_readers = True  # GET: anyone who sees the administration
        return dispatch

    return decorator


def labelled(problems, model) -> list[dict]:
    """Problems with the label of the field each concerns (None for the whole object)."""
    fields = {field.name: field for field in model._meta.get_fields() if hasattr(field, "verbose_name")}
    return [
        {
            "field": problem.field,
            "label": fields[problem.field].verbose_name if problem.field in fields else None,
            "message": problem.message,
        }
        for problem in problems
    ]


def details(instance, names, **shown) -> list[tuple]:
    """(label, value as read) of the fields `names` of `instance`, for a read-only page; `shown`
    gives the value to show for a field instead of its own."""
    rows = []
    for name in names:
        field = instance._meta.get_field(name)
        value = getattr(instance, name)
        if name in shown:
            value = shown[name]
        elif name.endswith("country"):
            value = countries.name(value) or value
        elif field.choices:
            value = getattr(instance, f"get_{name}_display")()
        elif isinstance(value, bool):
            value = _("Yes") if value else _("No")
        rows.append((field.verbose_name, value))
    return rows
