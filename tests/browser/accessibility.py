"""axe-core in the browser tests: the script bundled by the axe-playwright-python package (no Node.js)."""

from axe_playwright_python.base import AXE_SCRIPT

BLOCKING_IMPACTS = {"serious", "critical"}


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.evaluate(AXE_SCRIPT)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [violation for violation in results["violations"] if violation["impact"] in BLOCKING_IMPACTS]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines += [f"    {' '.join(node['target'])}: {node['html'][:160]}" for node in violation["nodes"][:5]]
    return "\n".join(lines)


def assert_accessible(page, where: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe-core found on {where}:\n{describe(violations)}"
