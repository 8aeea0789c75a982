from django.conf import settings
from django.utils.functional import SimpleLazyObject

from clearfacts_app.models import Administration
from clearfacts_app.roles import may_on

SWITCHER_LIMIT = 20


class GrantedScopes:
    """`{% if "statistics" in clearfacts_scopes %}`: what the user's Clearfacts token allows."""

    def __init__(self, credential):
        self.credential = credential

    def __contains__(self, scope: str) -> bool:
        return self.credential is not None and self.credential.has_scope(scope)


def navigation(request):
    """The administration switcher and sandbox badge; queries run only if a template uses them."""
    context = {"sandbox_enabled": settings.SANDBOX}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context

    visible = Administration.objects.visible_to(user).only("name", "company_number")
    switcher = visible[:SWITCHER_LIMIT]

    def current():
        if getattr(request, "administration", None) is not None:
            return request.administration
        company_number = request.session.get("current_administration")
        if not company_number:
            return None
        # Usually one of the switcher's, read once for both (the queryset keeps its rows).
        listed = next((each for each in switcher if each.company_number == company_number), None)
        return listed or visible.filter(company_number=company_number).first()

    match = request.resolver_match
    keeps_page = match is not None and set(match.kwargs) == {"company_number"}
    context.update(
        # `{% if may.submit %}`: what the user may do on the URL's administration (clearfacts_app.roles).
        may=may_on(user, getattr(request, "administration", None)),
        clearfacts_scopes=GrantedScopes(getattr(request, "clearfacts_credential", None)),
        nav_administrations=switcher,
        current_administration=SimpleLazyObject(current),
        switcher_view_name=match.view_name if keeps_page else "clearfacts_app:administration-detail",
    )
    return context
