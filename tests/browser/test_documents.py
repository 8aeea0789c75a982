from playwright.sync_api import expect

from clearfacts_app.models import Document
from sandbox.clearfacts import models as sandbox
from tests import samples
from tests.browser.conftest import sign_in_with_clearfacts

AN = "an.maes@bakkerij-maes.be"


def test_two_files_chosen_with_the_file_picker_both_reach_sent(page, portal, live_worker, tmp_path):
    first, second = tmp_path / "aankoop-0042.pdf", tmp_path / "peppol-0043.xml"
    first.write_bytes(samples.pdf(pages=2))
    second.write_bytes(samples.UBL_INVOICE)
    sign_in_with_clearfacts(page, portal, AN)

    page.get_by_role("link", name="Bakkerij Maes BV").first.click()
    page.get_by_test_id("upload-link").click()
    expect(page.locator("#destination-inbox")).to_be_checked()  # the defaults: the inbox, purchases
    expect(page.locator("#id_invoice_type")).to_have_value("PURCHASE")
    page.locator("#id_files").set_input_files([str(first), str(second)])
    page.get_by_role("button", name="Upload", exact=True).click()

    rows = page.get_by_test_id("upload-accepted")
    expect(rows).to_have_count(2)
    for name in ("aankoop-0042.pdf", "peppol-0043.xml"):
        expect(page.locator(f'[data-filename="{name}"] [data-testid="document-status"]')).to_have_text(
            "Sent", timeout=30_000
        )
    assert sorted(sandbox.Document.objects.values_list("filename", flat=True)) == [
        "aankoop-0042.pdf",
        "peppol-0043.xml",
    ]
    assert Document.objects.get(filename="aankoop-0042.pdf").amount_of_pages == 2

    # The administration's documents tab lists them, sent.
    page.get_by_role("link", name="All documents").click()
    expect(page.get_by_test_id("document-row")).to_have_count(2)
    expect(page.locator('[data-testid="document-row"][data-status="sent"]')).to_have_count(2)
    assert page.console_errors == []


def test_a_refused_file_is_explained_next_to_the_accepted_one(page, portal, live_worker, tmp_path):
    good, bad = tmp_path / "factuur.pdf", tmp_path / "notes.pdf"
    good.write_bytes(samples.pdf())
    bad.write_bytes(samples.TEXT)
    sign_in_with_clearfacts(page, portal, AN)
    page.goto(f"{portal.url}/administrations/0652381715/documents/upload/")

    page.locator("#id_files").set_input_files([str(good), str(bad)])
    page.get_by_role("button", name="Upload", exact=True).click()

    expect(page.get_by_test_id("upload-refused")).to_contain_text("notes.pdf")
    expect(page.get_by_test_id("upload-refused")).to_contain_text("none of them")
    expect(page.locator('[data-filename="factuur.pdf"] [data-testid="document-status"]')).to_have_text(
        "Sent", timeout=30_000
    )
    assert page.console_errors == []
