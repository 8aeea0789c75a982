"""The dashboard: per administration, the documents that need the user (with why and what to do)
and recent uploads; a compact list of the administrations."""

import pytest
from django.conf import settings

from clearfacts_app.models import Document
from tests import factories

Status = Document.Status


def make_document(administration, uploader, filename, status, reason_code="", **reason_params):
    return factories.make_document(
        administration, uploader, filename, status=status, reason_code=reason_code, reason_params=reason_params
    )


def dashboard(client, user) -> str:
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def card_of(page: str, filename: str) -> str:
    """The <li> of a document on the dashboard."""
    start = page.index(f">{filename}<")
    return page[page.rindex("<li", 0, start) : page.index("</li>", start)]


@pytest.fixture
def documents(administration, member):
    return {
        "failed": make_document(
            administration, member, "failed.pdf", Status.FAILED, Document.Reason.REFUSED, message="Page 3 is empty"
        ),
        "held": make_document(administration, member, "held.pdf", Status.HELD, Document.Reason.OUTCOME_UNKNOWN),
        "waiting": make_document(
            administration, member, "waiting.pdf", Status.NEEDS_SIGN_IN, Document.Reason.SIGN_IN_REFUSED, user="Jan"
        ),
        "sent": make_document(administration, member, "sent.pdf", Status.SENT),
        "cancelled": make_document(administration, member, "cancelled.pdf", Status.CANCELLED),
    }


def test_documents_that_need_the_user_show_their_reason_and_action(client, member, administration, documents):
    page = dashboard(client, member)
    base = f"/administrations/{administration.company_number}/documents"

    assert page.count('data-testid="attention-document"') == 3
    assert "3 documents need you" in page
    failed, held, waiting = card_of(page, "failed.pdf"), card_of(page, "held.pdf"), card_of(page, "waiting.pdf")
    assert (
        "Clearfacts refused the file. Clearfacts said: “Page 3 is empty”" in failed
        and f'action="{base}/{documents["failed"].pk}/retry/"' in failed
    )
    assert (
        "Clearfacts may have received this file but did not confirm it." in held
        and f'action="{base}/{documents["held"].pk}/send/"' in held
    )
    assert (
        "Clearfacts no longer accepts the sign-in of Jan." in waiting
        and f'action="{base}/{documents["waiting"].pk}/retry/"' in waiting
    )
    assert f'href="{base}/{documents["failed"].pk}/"' in failed, "a link to the document's page"


def test_a_document_waiting_for_the_users_sign_in_offers_it(client, member, owner, administration, documents):
    page = dashboard(client, member)

    assert 'href="/accounts/sign-in-again/"' in card_of(page, "waiting.pdf")
    assert "sign-in-again" not in dashboard(client, owner), "only to the one whose sign-in it waits for"


def test_recent_uploads_are_listed_and_cancelled_ones_are_not(client, member, documents):
    page = dashboard(client, member)

    assert page.count('data-testid="recent-document"') == 1 and ">sent.pdf<" in page
    assert "cancelled.pdf" not in page


def test_a_viewer_sees_the_documents_but_no_action(client, viewer, documents):
    page = dashboard(client, viewer)

    assert page.count('data-testid="attention-document"') == 3
    assert 'data-testid="document-action"' not in page
    assert "Clearfacts refused the file." in page


def test_only_documents_of_administrations_the_user_may_see(
    client, member, colleague_without_access, outsider, other_administration, documents
):
    make_document(other_administration, outsider, "theirs.pdf", Status.FAILED, Document.Reason.TOO_SLOW, minutes=30)

    assert "theirs.pdf" not in dashboard(client, member)
    colleague_page = dashboard(client, colleague_without_access)
    assert "failed.pdf" not in colleague_page and 'data-testid="nothing-to-do"' in colleague_page


def test_the_administrations_stay_one_click_away(client, member, administration):
    page = dashboard(client, member)

    assert 'data-testid="nothing-to-do"' in page
    assert f'href="/administrations/{administration.company_number}/">{administration.name}</a>' in page


def test_the_dashboard_in_dutch_and_french(client, member, documents):
    client.force_login(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"
    page = client.get("/").content.decode()
    assert "3 documenten vragen uw aandacht" in page
    assert "Clearfacts weigerde het bestand. Clearfacts zei: „Page 3 is empty”" in page, (
        "the reason in the reader's language"
    )
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = client.get("/").content.decode()
    assert "3 documents requièrent votre attention" in page
    assert "Clearfacts a refusé le fichier. Clearfacts a dit : « Page 3 is empty »" in page
