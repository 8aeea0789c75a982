"""A colleague's four-eyes approval and the tax authority's clearance have words of their own: in
Dutch "fiatteren" (gefiatteerd, fiattering) for the colleague and "goedkeuring" for the authority,
in French "approbation" and "validation/acceptation"; so a page that says "Gefiatteerd" does not
then ask to "indienen ter goedkeuring" as if that were the same step."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, pgettext

from clearfacts_app.models import Notification
from clearfacts_app.notifications import headline
from invoicing.models import Approval, Invoice

AUTHORITY = {"nl": ("goedke", "goedge"), "fr": ("validation", "validée", "accept")}
COLLEAGUE = {"nl": ("fiat",), "fr": ("approb", "approuv")}
# msgids about a colleague's approval (four eyes), and about the authority's clearance
FOUR_EYES = re.compile(r"\bapprov|\bapproval|\bapprover|four-eyes", re.IGNORECASE)
CLEARANCE = re.compile(r"\bclearance|\bcleared\b", re.IGNORECASE)


def entries(language: str) -> list[tuple[str | None, str, str]]:
    """(msgctxt, msgid, msgstr) of the language's catalogue (singular entries)."""
    text = (Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    found = []
    for block in text.split("\n\n"):
        parts, current = {}, None
        for line in block.splitlines():
            head = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d\])?) (".*")$', line)
            if head:
                current = head[1]
                parts[current] = json.loads(head[2])
            elif line.startswith('"') and current:
                parts[current] += json.loads(line)
        if parts.get("msgid") and "msgstr" in parts:
            found.append((parts.get("msgctxt"), parts["msgid"], parts["msgstr"]))
    return found


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_colleagues_approval_never_borrows_the_authoritys_word(language):
    wrong = [
        (msgid, msgstr)
        for _context, msgid, msgstr in entries(language)
        if FOUR_EYES.search(msgid) and not CLEARANCE.search(msgid)
        if any(word in msgstr.lower() for word in AUTHORITY[language])
    ]

    assert wrong == []


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_authoritys_clearance_never_borrows_the_colleagues_word(language):
    wrong = [
        (msgid, msgstr)
        for _context, msgid, msgstr in entries(language)
        if CLEARANCE.search(msgid) and not FOUR_EYES.search(msgid)
        if any(word in msgstr.lower() for word in COLLEAGUE[language])
    ]

    assert wrong == []


def test_dutch_says_gefiatteerd_for_the_colleague_and_goedkeuring_for_the_authority():
    with translation.override("nl"):
        assert pgettext("four eyes", "Approved") == "Gefiatteerd"
        assert str(Invoice.Review.APPROVED.label) == "Gefiatteerd"
        assert gettext("Approve version %(version)s") % {"version": 2} == "Versie 2 fiatteren"
        assert gettext("Needs approval by a colleague first") == "Moet eerst door een collega worden gefiatteerd"
        assert gettext("Changed since it was approved") == "Gewijzigd sinds de fiattering"
        assert str(Approval._meta.verbose_name) == "fiattering"
        assert gettext("Submit for clearance") == "Indienen ter goedkeuring"
        assert gettext("Waiting for clearance") == "Wacht op goedkeuring"


def test_the_approved_notification_names_the_version_in_each_language(administration, member):
    notification = Notification(
        kind=Notification.Kind.INVOICE_APPROVED,
        administration=administration,
        actor=member,
        data={"invoice": 7, "number": "2026-0042", "version": 3},
    )
    said = {}
    for language in ("en", "nl", "fr"):
        with translation.override(language):
            said[language] = headline(notification)

    assert said == {
        "en": "Jan Peeters approved version 3 of invoice 2026-0042 of Bakkerij Janssens BV.",
        "nl": "Jan Peeters fiatteerde versie 3 van factuur 2026-0042 van Bakkerij Janssens BV.",
        "fr": "Jan Peeters a approuvé la version 3 de la facture 2026-0042 de Bakkerij Janssens BV.",
    }
    notification.data = {"invoice": 7, "number": "2026-0042"}  # a row written before the version was stored
    with translation.override("nl"):
        assert headline(notification) == "Jan Peeters fiatteerde factuur 2026-0042 van Bakkerij Janssens BV."
