"""`{% person_name person %}`: a person's name as the signed-in reader is shown it (a client user
never sees an associate's e-mail address; clearfacts_app.people.person_name)."""

from django import template

from clearfacts_app import people

register = template.Library()


@register.simple_tag(takes_context=True)
def person_name(context, person) -> str:
    if person is None:
        return ""
    request = context.get("request")
    viewer = getattr(request, "user", None) or context.get("user")
    if viewer is None or not viewer.is_authenticated:
        return (person.get_full_name() or "").strip()  # no address for someone not signed in
    return people.person_name(viewer, person)
