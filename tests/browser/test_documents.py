from django.test import override_settings
from playwright.sync_api import expect

from clearfacts_app.models import AdministrationAccess, Document
from clearfacts_app.roles import Role
from sandbox.clearfacts import models as sandbox
from tests import samples
from tests.browser.conftest import sign_in_with_clearfacts
from tests.personas import AN


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


def test_a_slow_send_is_followed_on_the_upload_page_until_it_is_sent(page, portal, live_worker, tmp_path):
    big = tmp_path / "jaarrekening.pdf"
    samples.write_large_pdf(big, 1024 * 1024)
    sign_in_with_clearfacts(page, portal, AN)
    page.goto(f"{portal.url}/administrations/0652381715/documents/upload/")

    # The sandbox reads uploads at 128 KB/s: the send takes about 8 seconds, several polls.
    with override_settings(SANDBOX_BANDWIDTH_KBPS=128):
        page.locator("#id_files").set_input_files(str(big))
        page.get_by_role("button", name="Upload", exact=True).click()
        status = page.locator('[data-filename="jaarrekening.pdf"] [data-testid="document-status"]')
        expect(status).to_have_text("Sending", timeout=15_000)
        expect(status).to_have_text("Sent", timeout=60_000)
    assert page.console_errors == []


def test_an_upload_refused_because_the_user_became_a_viewer_says_so(page, portal, live_worker, tmp_path):
    invoice = tmp_path / "factuur.pdf"
    invoice.write_bytes(samples.pdf())
    sign_in_with_clearfacts(page, portal, AN)
    page.goto(f"{portal.url}/administrations/0652381715/documents/upload/")
    AdministrationAccess.objects.filter(user__email=AN).update(role=Role.VIEWER)

    page.locator("#id_files").set_input_files(str(invoice))
    page.get_by_role("button", name="Upload", exact=True).click()

    expect(page.get_by_test_id("upload-failed")).to_contain_text("did not accept this upload")
    expect(page.get_by_test_id("upload-failed")).to_contain_text("(HTTP 403)")
    assert not Document.objects.exists()


def test_a_bad_request_is_explained_and_the_forms_problems_are_listed(page, portal, live_worker, tmp_path):
    invoice = tmp_path / "factuur.pdf"
    invoice.write_bytes(samples.pdf())
    sign_in_with_clearfacts(page, portal, AN)
    page.goto(f"{portal.url}/administrations/0652381715/documents/upload/")

    page.locator("#destination-archive").check()  # and no category: the form's own 400
    page.locator("#id_files").set_input_files(str(invoice))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_test_id("upload-problem")).to_contain_text("Choose a category of that archive.")

    # More fields than Django parses: what could not be read is explained in the file's row.
    page.eval_on_selector(
        "[data-uploader]",
        """form => { for (let n = 0; n < 1001; n++) {
            const field = document.createElement("input");
            Object.assign(field, {type: "hidden", name: `extra${n}`, value: "x"});
            form.append(field);
        } }""",
    )
    page.locator("#destination-inbox").check()
    page.locator("#id_files").set_input_files(str(invoice))
    page.get_by_role("button", name="Upload", exact=True).click()
    refused = page.get_by_test_id("upload-refused")
    expect(refused).to_contain_text("The upload could not be read.")
    expect(refused).to_contain_text("factuur.pdf")
    assert not Document.objects.exists()


def test_the_category_list_follows_the_chosen_archive_and_the_upload_lands_there(page, portal, live_worker, tmp_path):
    statuten = tmp_path / "statuten.pdf"
    statuten.write_bytes(samples.pdf())
    sign_in_with_clearfacts(page, portal, AN)
    page.goto(f"{portal.url}/administrations/0652381715/documents/upload/")
    categories = page.locator("#id_archive_category option")
    expect(categories).to_contain_text(["—", "Beleggingen"])

    page.locator("#destination-archive").check()
    page.locator("#id_archive_type").select_option("PERMANENT")
    expect(categories).to_have_text(["—", "Arbeidsreglement", "Huurovereenkomst", "Statuten"])
    page.locator("#id_archive_category").select_option(label="Statuten")
    page.locator("#id_files").set_input_files(str(statuten))
    page.get_by_role("button", name="Upload", exact=True).click()

    status = page.locator('[data-filename="statuten.pdf"] [data-testid="document-status"]')
    expect(status).to_have_text("Sent", timeout=30_000)
    assert sandbox.Document.objects.get().category.name == "Statuten"
    assert page.console_errors == []
