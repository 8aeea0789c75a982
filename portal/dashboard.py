"""What the dashboard shows: per administration, the documents that need the user and recent uploads;
and the panels other apps add (invoicing's counts), so that portal imports none of them."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clearfacts_app.models import Administration, Document

ATTENTION_LIMIT = 30
RECENT_LIMIT = 10
ADMINISTRATION_LIMIT = 12


@dataclass
class CompanyCard:
    administration: Administration
    attention: list[Document] = field(default_factory=list)
    recent: list[Document] = field(default_factory=list)


def company_cards(user) -> tuple[list[CompanyCard], int]:
    """Cards of the administrations with documents to act on (first) or recent uploads; and how many
    documents need the user in all (the cards show at most ATTENTION_LIMIT of them)."""
    visible = Document.objects.visible_to(user).select_related("administration", "uploaded_by")
    waiting = visible.filter(status__in=Document.NEEDS_USER)
    attention = list(waiting[:ATTENTION_LIMIT])
    recent = list(
        visible.exclude(status__in=Document.NEEDS_USER).exclude(status=Document.Status.CANCELLED)[:RECENT_LIMIT]
    )
    cards: dict[int, CompanyCard] = {}
    for document in attention:  # newest first, so the most recent problem decides the order
        cards.setdefault(document.administration_id, CompanyCard(document.administration)).attention.append(document)
    for document in recent:
        cards.setdefault(document.administration_id, CompanyCard(document.administration)).recent.append(document)
    attention_count = len(attention) if len(attention) < ATTENTION_LIMIT else waiting.count()
    return list(cards.values()), attention_count


@dataclass(frozen=True)
class Panel:
    """A section of the dashboard that another app adds from its AppConfig.ready().

    The dashboard includes `template` with `data`, what `read(user)` returns for the signed-in user.
    """

    name: str
    template: str
    read: Callable[[Any], Any]


PANELS: list[Panel] = []


def panel_add(panel: Panel) -> None:
    """Adds `panel` below the documents (once: apps' ready() may run more than once in tests)."""
    if not any(existing.name == panel.name for existing in PANELS):
        PANELS.append(panel)


@dataclass(frozen=True)
class ShownPanel:
    template: str
    data: Any


def panels_shown(user) -> list[ShownPanel]:
    return [ShownPanel(panel.template, panel.read(user)) for panel in PANELS]
