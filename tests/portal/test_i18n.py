import re
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parent.parent.parent / "locale"


def po_entries(path):
    """(msgid, [msgstr...], flags) of each entry of a .po file."""
    entries, current, field, flags = [], None, None, ""
    for line in path.read_text().splitlines() + [""]:
        if line.startswith("#,"):
            flags = line
        elif line.startswith("msgid "):
            if current:
                entries.append(current)
            current, field = {"msgid": "", "msgstr": [], "flags": flags}, "msgid"
            current["msgid"] = re.match(r'msgid "(.*)"', line)[1]
            flags = ""
        elif line.startswith("msgid_plural"):
            field = None
        elif line.startswith("msgstr"):
            current["msgstr"].append(re.match(r'msgstr(?:\[\d\])? "(.*)"', line)[1])
            field = "msgstr"
        elif line.startswith('"') and current:
            text = line[1:-1]
            if field == "msgid":
                current["msgid"] += text
            elif field == "msgstr":
                current["msgstr"][-1] += text
    if current:
        entries.append(current)
    return [entry for entry in entries if entry["msgid"]]


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_every_message_is_translated(language):
    entries = po_entries(LOCALE / language / "LC_MESSAGES" / "django.po")
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"]) or "fuzzy" in e["flags"]]
    assert entries
    assert not untranslated, f"{language}: {len(untranslated)} untranslated, e.g. {untranslated[:5]}"


@pytest.mark.parametrize(("language", "sign_in"), [("nl", "Aanmelden"), ("fr", "Se connecter"), ("en", "Sign in")])
def test_the_language_switcher_changes_the_interface_language(client, db, language, sign_in):
    response = client.post("/i18n/setlang/", {"language": language, "next": "/accounts/sign-in/"}, follow=True)

    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.text
    assert f'<h1 class="h4 mb-3">{sign_in}</h1>' in response.text
