"""Imports between the apps go one way (docs/decisions.md, "Import direction"):
portal's library modules ← accounts ← clearfacts_app ← invoicing, with the site's views, URLs and
context processors on top. Imports inside functions count too: they hide a cycle, not remove it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["portal", "accounts", "clearfacts_app", "invoicing"]
# The site on top of the apps: it may import any of them.
SITE_MODULE_NAMES = {"views", "urls", "context_processors"}
SITE_MODULES = {
    "portal.dashboard",  # the dashboard's selector, for portal.views
    "portal.tenancy",  # the tenancy middleware resolves the administration (clearfacts_app) of a URL
}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def is_site_level(module: str) -> bool:
    parts = module.split(".")
    return (
        module in SITE_MODULES
        or any(part in SITE_MODULE_NAMES or part.endswith("_views") for part in parts[1:])
        or "management" in parts
    )


def imported(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def app_modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


@pytest.mark.parametrize("app", LAYERS)
def test_an_app_imports_nothing_from_the_apps_built_on_it(app):
    above = LAYERS[LAYERS.index(app) + 1 :]
    wrong = [
        f"{module_name(path)} imports {name}"
        for path in app_modules(app)
        if not is_site_level(module_name(path))
        for name in sorted(imported(path))
        if name.split(".")[0] in above
    ]
    assert wrong == []


def test_the_tasks_module_imports_the_services_it_calls_inside_the_tasks():
    """Services import the tasks and dispatch them on commit, so tasks.py must not import them at load."""
    tree = ast.parse((ROOT / "clearfacts_app" / "tasks.py").read_text())
    at_load = {
        alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {"clearfacts_app.documents", "clearfacts_app.sync", "clearfacts_app.sync.sync_user"} & at_load
