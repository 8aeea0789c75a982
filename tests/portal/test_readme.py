"""The README's opening says what exists and what is coming, not the plan as if it shipped."""

from pathlib import Path

from django.urls import get_resolver

README = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()


def url_names(resolver=None) -> set[str]:
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if hasattr(pattern, "url_patterns"):
            names |= {f"{pattern.namespace}:{name}" for name in url_names(pattern)} | url_names(pattern)
        elif pattern.name:
            names.add(pattern.name)
    return names


def test_the_opening_presents_e_invoicing_as_shipped_only_once_it_has_pages():
    opening = README.split("## What it is", 1)[1].split("\n## ", 1)[0]
    works_today = opening.split("**Coming", 1)[0].lower()
    invoicing_pages = {name for name in url_names() if name.startswith("invoicing:")}

    if not invoicing_pages:
        assert "invoice" not in works_today and "clearance" not in works_today and "timeline" not in works_today
        assert "e-invoices" in opening.split("**Coming", 1)[1], "what is coming is still said"
