"""The top bar of an office administrator (who has the extra Office link) in every language: the
notification bell is never covered by anything, at a phone's width and every laptop and desktop
width, and the page never scrolls sideways."""

import pytest

from tests.browser.conftest import sign_in_with_clearfacts
from tests.personas import SOFIE

WIDTHS = [375, 1024, 1200, 1280, 1366, 1440]

BELL_ON_TOP = """() => {
  const bell = document.getElementById("notification-bell");
  const box = bell.getBoundingClientRect();
  const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return bell.contains(hit) ? null : (hit ? hit.outerHTML.slice(0, 120) : "nothing");
}"""


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_the_bell_is_never_covered_and_opens_the_notifications(page, portal, language):
    sign_in_with_clearfacts(page, portal, SOFIE, language=language)
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{portal.url}/")
        if (covered_by := page.evaluate(BELL_ON_TOP)) is not None:
            problems.append(f"at {width}px the bell's centre is {covered_by}")
        if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
            problems.append(f"at {width}px the page scrolls sideways")
    assert not problems, "\n".join(problems)

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{portal.url}/")
    page.get_by_test_id("notification-bell").get_by_role("link").click()
    page.wait_for_url("**/notifications/")
    assert page.console_errors == []
