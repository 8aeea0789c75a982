"""The tabs of an administration's page: a list other apps add to, so this app imports none of them.

A tab that lives in another app names its own template; `administration_tab` renders the detail
page with it (or, for an HTMX request, only the tabs).
"""

from dataclasses import dataclass

from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from portal.htmx import wants_partial

DETAIL_TEMPLATE = "clearfacts_app/administration_detail.html"


@dataclass(frozen=True)
class Tab:
    name: str
    label: str | Promise
    url_name: str
    template: str | None = None  # None: a partial of the detail page named like the tab


TABS: list[Tab] = [
    Tab("documents", gettext_lazy("Documents"), "clearfacts_app:documents"),
    Tab("journals", gettext_lazy("Journals"), "clearfacts_app:journals"),
    Tab("customers", gettext_lazy("Customers"), "clearfacts_app:customers"),
    Tab("archive", gettext_lazy("Archive categories"), "clearfacts_app:archive"),
    Tab("statistics", gettext_lazy("Statistics"), "clearfacts_app:statistics"),
    Tab("activity", gettext_lazy("Activity"), "clearfacts_app:activity", "clearfacts_app/activity_tab.html"),
    Tab("people", gettext_lazy("People"), "clearfacts_app:people", "clearfacts_app/people.html"),
]


def tab_add(tab: Tab, *, after: str) -> None:
    """Adds `tab` after the tab named `after` (once: apps' ready() may run more than once in tests)."""
    if any(existing.name == tab.name for existing in TABS):
        return
    index = next(i for i, existing in enumerate(TABS) if existing.name == after)
    TABS.insert(index + 1, tab)


def administration_tab(request, name: str, **context):
    """The administration's page with tab `name` open; only the tabs for an HTMX request."""
    template = f"{DETAIL_TEMPLATE}#tabs" if wants_partial(request) else DETAIL_TEMPLATE
    current = next(tab for tab in TABS if tab.name == name)
    context |= {"administration": request.administration, "tab": name, "current_tab": current, "tabs": TABS}
    response = render(request, template, context)
    # The same URL answers the page or its tabs: browser caches must tell them apart.
    patch_vary_headers(response, ["HX-Request", "HX-History-Restore-Request"])
    return response
