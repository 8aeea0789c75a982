"""The upload page when Clearfacts cannot give the archive categories, over HTTP against the sandbox."""

import io
import re

from clearfacts_app.models import Document
from sandbox.instrument import fail_next
from tests import samples
from tests.conftest import wait_until
from tests.personas import BAKKERIJ

UPLOAD = f"/administrations/{BAKKERIJ}/documents/upload/"


def upload(browser, **fields):
    return browser.post(
        f"{browser.portal}{UPLOAD}",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"], **fields},
        files=[("files", ("factuur.pdf", io.BytesIO(samples.pdf()), "application/pdf"))],
        headers={"Referer": f"{browser.portal}{UPLOAD}"},
        timeout=60,
    )


def test_categories_clearfacts_cannot_give_are_explained_and_the_inbox_still_works(browser):
    fail_next("clearfacts-graphql", operation="archiveCategories", count=3, status=503)

    page = browser.get(f"{browser.portal}{UPLOAD}", timeout=30)
    archived = upload(browser, destination="archive", archive_type="PERMANENT", archive_category="1")
    inbox = upload(browser, destination="inbox", invoice_type="PURCHASE")

    problem = page.text.split('data-testid="archive-problem">', 1)[1].split("</p>", 1)[0]
    assert "archive categories could not be loaded" in problem and "could not be reached" in problem
    assert "inbox still works" in problem and "reload the page" in problem
    assert re.search(r'id="destination-archive"[^>]*disabled', page.text)
    assert "archive categories could not be loaded" in archived.text.split('data-testid="upload-results"', 1)[1]
    assert "archive_actions" not in archived.text
    assert 'data-testid="upload-accepted"' in inbox.text
    sent = wait_until(lambda: Document.objects.filter(status=Document.Status.SENT).first(), message="the upload sent")
    assert sent.destination == "inbox" and Document.objects.count() == 1
