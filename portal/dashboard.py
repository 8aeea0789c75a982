"""What the dashboard shows: per administration, the documents that need the user and recent uploads."""

from dataclasses import dataclass, field

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
