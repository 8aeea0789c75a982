from django.urls import path

from invoicing import (
    book_views,
    buyer_views,
    clearance_views,
    clearvo_account_views,
    cockpit_action_views,
    cockpit_views,
    comment_views,
    editor_views,
    list_views,
    notification_views,
    profile_views,
)

app_name = "invoicing"

# The `company` converter is registered by clearfacts_app.urls, included before this module.
urlpatterns = [
    # /administrations/<company>/invoicing/ : the invoicing profile and the buyers' address book
    path("administrations/<company:company_number>/invoicing/profile/", profile_views.profile_edit, name="profile"),
    path("administrations/<company:company_number>/invoicing/buyers/", buyer_views.buyer_list, name="buyer-list"),
    path(
        "administrations/<company:company_number>/invoicing/buyers/new/", buyer_views.buyer_create, name="buyer-create"
    ),
    path(
        "administrations/<company:company_number>/invoicing/buyers/<int:buyer_pk>/",
        buyer_views.buyer_edit,
        name="buyer-edit",
    ),
    path(
        "administrations/<company:company_number>/invoicing/buyers/<int:buyer_pk>/delete/",
        buyer_views.buyer_delete,
        name="buyer-delete",
    ),
    # /administrations/<company>/invoices/new/ and .../<invoice_pk>/edit/ : the invoice editor
    # (and .../<invoice_pk>/ : the preview, with the payload that will be sent)
    path("administrations/<company:company_number>/invoices/new/", editor_views.invoice_create, name="invoice-create"),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/",
        editor_views.invoice_detail,
        name="invoice-detail",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/edit/",
        editor_views.invoice_edit,
        name="invoice-edit",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/payload.json",
        editor_views.invoice_payload_json,
        name="invoice-payload",
    ),
    # /administrations/<company>/invoices/ : the tab, an invoice's page and its actions; /invoices/ : all of them
    path(
        "administrations/<company:company_number>/invoices/",
        list_views.administration_invoices,
        name="administration-invoices",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/duplicate/",
        list_views.invoice_duplicate,
        name="invoice-duplicate",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/credit-note/",
        list_views.invoice_credit_note,
        name="invoice-credit-note",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/delete/",
        list_views.invoice_delete,
        name="invoice-delete",
    ),
    # .../invoices/<invoice_pk>/comments/... : the invoice's comments (clearfacts_app.comment_pages.comment_routes)
    *comment_views.routes(),
    path("invoices/", list_views.invoice_list, name="invoice-list"),
    # Clearance: .../invoices/<invoice_pk>/ submit, timeline, status, reopen and the clearance record;
    # .../submissions/<submission_pk>/ a held send's actions; /invoices/submit/ several drafts at once;
    # /office/clearvo/ the office's Clearvo key
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/submit/",
        clearance_views.invoice_submit,
        name="invoice-submit",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/timeline/",
        clearance_views.invoice_timeline,
        name="invoice-timeline",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/status/",
        clearance_views.invoice_status,
        name="invoice-status",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/reopen/",
        clearance_views.invoice_reopen,
        name="invoice-reopen",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/clearance-record.json",
        clearance_views.invoice_clearance_record,
        name="invoice-clearance-record",
    ),
    path(
        "administrations/<company:company_number>/submissions/<int:submission_pk>/retry/",
        clearance_views.submission_retry,
        name="submission-retry",
    ),
    path(
        "administrations/<company:company_number>/submissions/<int:submission_pk>/release/",
        clearance_views.submission_release,
        name="submission-release",
    ),
    path("invoices/submit/", clearance_views.invoice_bulk_submit, name="invoice-bulk-submit"),
    path("office/clearvo/", clearvo_account_views.clearvo_account, name="clearvo-account"),
    # /account/notifications/ : a person's own setting for the outcome e-mails (no administration)
    path("account/notifications/", notification_views.notification_settings, name="notification-settings"),
    # .../invoices/<invoice_pk>/books/ : the invoice's way into the books; /invoices/books/ : file accepted ones
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/books/",
        book_views.invoice_book_filing,
        name="invoice-book-filing",
    ),
    path("invoices/books/", list_views.invoice_bulk_file_in_books, name="invoice-bulk-file-in-books"),
]

# An invoice's documents for its buyer: the PDF and the UBL, downloaded or e-mailed (imported here to keep this
# addition in one block)
from invoicing import download_views  # noqa: E402

urlpatterns += [
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/invoice.pdf",
        download_views.invoice_pdf_download,
        name="invoice-pdf",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/invoice.xml",
        download_views.invoice_ubl_download,
        name="invoice-ubl",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/email-buyer/",
        download_views.invoice_email_buyer,
        name="invoice-email-buyer",
    ),
]

# Four-eyes approval: .../invoices/<invoice_pk>/review/ send a draft for review, and approve the version shown
from invoicing import review_views  # noqa: E402

urlpatterns += [
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/review/request/",
        review_views.invoice_review_request,
        name="invoice-review-request",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/review/approve/",
        review_views.invoice_approve,
        name="invoice-approve",
    ),
]

# /office/clearance/ : every open problem of the companies the person may see; .../act/ assigns,
# checks, sends again or holds the ones ticked (the form contract is in docs/cockpit.md)
urlpatterns += [
    path("office/clearance/", cockpit_views.cockpit, name="cockpit"),
    path("office/clearance/act/", cockpit_action_views.cockpit_act, name="cockpit-act"),
]

# The evidence pack (a ZIP to verify with sha256sum): .../invoices/<invoice_pk>/evidence.zip one invoice;
# /invoices/evidence/ the page that asks for a period; /invoices/evidence.zip a period's (GET) or a list's choice (POST)
from invoicing import evidence_views  # noqa: E402

urlpatterns += [
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/evidence.zip",
        evidence_views.invoice_evidence,
        name="invoice-evidence",
    ),
    path("invoices/evidence/", evidence_views.invoice_evidence_period, name="invoice-evidence-bulk"),
    path("invoices/evidence.zip", evidence_views.invoice_evidence_download, name="invoice-evidence-download"),
]

# A number the tax authority already had: .../invoices/<invoice_pk>/duplicate-number/adopt/ the earlier outcome,
# or .../duplicate-number/renumber/ a new number (not .../duplicate/, which copies an invoice)
from invoicing import duplicate_views  # noqa: E402

urlpatterns += [
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/duplicate-number/adopt/",
        duplicate_views.duplicate_adopt,
        name="invoice-duplicate-adopt",
    ),
    path(
        "administrations/<company:company_number>/invoices/<int:invoice_pk>/duplicate-number/renumber/",
        duplicate_views.duplicate_renumber,
        name="invoice-duplicate-renumber",
    ),
]
