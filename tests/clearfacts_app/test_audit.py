"""The audit log: every state change leaves a row with who, when and what changed (never a secret),
staff read it in the admin, and nobody (the admin, the ORM, any code path) edits or deletes a row."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone, translation

from accounts.models import Membership, User
from clearfacts_app import documents
from clearfacts_app.activity import activities_record, activity_record, describe
from clearfacts_app.models import Activity, Administration, AdministrationAccess, AuditLogIsAppendOnly, Document
from clearfacts_app.roles import Role
from clearfacts_app.sync import sync_user
from invoicing import services, submissions
from invoicing.models import ClearvoAccount, Invoice
from tests.factories import make_document, make_office, make_user
from tests.invoicing.editor_helpers import complete_profile, edit_data, make_invoice
from tests.invoicing.test_admin import form_of
from tests.personas import AN
from tests.signed_in import sign_in_directly

Review = Invoice.Review
CHANGELIST = "/admin/clearfacts_app/activity/"
LIVE_KEY = "ck_live_Zq8RkW2mXv7TnB4c9d1e"
TEST_KEY = "ck_test_Hk3LpQ9sYt6UwR2a5f8g"


def row(administration, actor, **fields) -> Activity:
    with transaction.atomic():
        return activity_record(
            administration=administration,
            actor=actor,
            action="invoicing_profile.changed",
            data={"profile": 1, "fields": ["city"]},
            changes={"city": ["Aalst", "Gent"]},
            **fields,
        )


@pytest.fixture
def no_dispatch(monkeypatch):
    monkeypatch.setattr(documents, "_dispatch", lambda pk: None)
    monkeypatch.setattr(submissions, "_dispatch", lambda pk, countdown=None: None)


# What the rows record


def test_a_profile_change_records_what_changed(client, owner, administration):
    complete_profile(administration, city="Aalst", file_in_books=True)
    client.force_login(owner)

    client.post(
        f"/administrations/{administration.company_number}/invoicing/profile/",
        {
            "legal_name": administration.name,
            "tax_id": "0403170701",
            "street": "Molenstraat 7",
            "postal_code": "9300",
            "city": "Gent",
            "country": "BE",
            "default_currency": "EUR",
            "payment_terms_days": "30",
            "number_pattern": "F{YYYY}-{NNNN}",
        },
    )

    activity = Activity.objects.get(action="invoicing_profile.changed")
    assert activity.actor == owner and activity.office == administration.office
    assert activity.changes["city"] == ["Aalst", "Gent"]
    assert activity.changes["file_in_books"] == [True, False]
    assert "legal_name" not in activity.changes, "only what changed"


def test_an_invoice_edit_records_the_fields_changed(client, member, administration):
    complete_profile(administration)
    invoice = make_invoice(administration, member)
    client.force_login(member)

    client.post(
        f"/administrations/{administration.company_number}/invoices/{invoice.pk}/edit/",
        edit_data(invoice, buyer_name="Cliente Nuovo SpA", customer_reference="PO-7"),
    )

    activity = Activity.objects.get(action="invoice.changed")
    assert activity.actor == member
    assert activity.changes["buyer_name"] == [invoice.buyer_name, "Cliente Nuovo SpA"]
    assert activity.changes["customer_reference"] == [invoice.customer_reference or "", "PO-7"]
    assert "invoice_number" not in activity.changes


def test_submitting_and_releasing_record_the_state_changes(administration, member, owner, no_dispatch):
    complete_profile(administration)
    invoice = make_invoice(administration, member)
    submission = submissions.invoice_submit(invoice=invoice, user=owner, expected_version=invoice.version)
    with transaction.atomic():
        locked = submissions.Submission.objects.select_for_update().get(pk=submission.pk)
        submissions._hold(locked, submissions._reason(submissions.Reason.GAVE_UP, attempts=1, number="x"))
    submissions.submission_release(submission=submission, user=owner)

    submitted, held, released = Activity.objects.filter(data__submission=submission.pk).order_by("pk")
    assert submitted.changes == {"status": ["draft", "submitting"], "state": [None, "queued"]}
    assert held.changes == {"state": ["queued", "held"]} and held.actor is None
    assert released.changes == {"state": ["held", "cancelled"]} and released.actor == owner
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.DRAFT


def test_the_clearvo_key_is_audited_at_office_level_without_its_value(client, owner, office):
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    client.post("/office/clearvo/", {"api_key": TEST_KEY})
    client.post("/office/clearvo/", {"api_key": LIVE_KEY})

    first, second = Activity.objects.filter(action="clearvo_account.changed").order_by("pk")
    assert (first.office, first.administration, first.actor) == (office, None, owner)
    assert first.changes == {"api_key": [None, "changed"], "mode": [None, "test"]}
    assert second.changes == {"api_key": ["set", "changed"], "mode": ["test", "live"]}
    for activity in (first, second):
        stored = json.dumps([activity.data, activity.changes])
        assert TEST_KEY not in stored and LIVE_KEY not in stored and LIVE_KEY[8:] not in stored

    services.clearvo_account_remove(office=office, user=owner)
    removed = Activity.objects.get(action="clearvo_account.removed")
    assert removed.changes == {"api_key": ["set", None]} and not ClearvoAccount.objects.exists()


def test_document_actions_record_the_status_change(administration, member, no_dispatch):
    document = make_document(administration, member, status=Document.Status.FAILED)

    documents.document_retry(document=document, actor=member)

    activity = Activity.objects.get()
    assert activity.changes == {"status": ["failed", "queued"]} and activity.actor == member


def test_the_sweepers_bulk_status_changes_write_one_row_per_document(administration, member, no_dispatch):
    past = timezone.now() - timedelta(minutes=1)
    handed_over = make_document(administration, member, filename="a.pdf", status=Document.Status.SENDING)
    crashed = make_document(administration, member, filename="b.pdf", status=Document.Status.SENDING)
    given_up = make_document(
        administration, member, filename="c.pdf", status=Document.Status.SENDING, crashes=documents.MAX_CRASHES
    )
    Document.objects.filter(pk=handed_over.pk).update(sending_until=past, handed_over_at=past)
    Document.objects.filter(pk__in=[crashed.pk, given_up.pk]).update(sending_until=past)

    documents.documents_sweep(stale_after=timedelta(minutes=5))

    rows = {
        activity.data["document"]: activity
        for activity in Activity.objects.filter(action="document.status_changed", administration=administration)
    }
    assert rows[handed_over.pk].changes == {"status": ["sending", "held"]}
    assert rows[crashed.pk].changes == {"status": ["sending", "queued"]}
    assert rows[given_up.pk].changes == {"status": ["sending", "failed"]}
    assert all(activity.actor is None and activity.office_id == administration.office_id for activity in rows.values())
    assert len(rows) == 3


def test_a_send_outcome_records_the_status_change(administration, member, monkeypatch):
    document = make_document(administration, member, status=Document.Status.QUEUED)
    document.file.save("factuur.pdf", __import__("io").BytesIO(b"%PDF-1.4"), save=True)

    def refused(**kwargs):
        raise documents.client.ClearfactsError("refused")

    monkeypatch.setattr(documents.client, "upload", refused)

    assert documents.document_send(document_id=document.pk, last_attempt=False) == Document.Status.FAILED

    activity = Activity.objects.get(action="document.status_changed")
    assert activity.changes == {"status": ["sending", "failed"]}
    assert activity.data["status"] == "failed" and activity.data["reason"] == Document.Reason.REFUSED


# Nobody edits the log


def test_the_model_refuses_to_change_or_delete_a_row(administration, member):
    activity = row(administration, member)

    activity.action = "document.retried"
    with pytest.raises(AuditLogIsAppendOnly):
        activity.save()
    with pytest.raises(AuditLogIsAppendOnly):
        activity.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        Activity.objects.filter(pk=activity.pk).update(action="x")
    with pytest.raises(AuditLogIsAppendOnly):
        Activity.objects.filter(pk=activity.pk).delete()

    activity.refresh_from_db()
    assert activity.action == "invoicing_profile.changed" and activity.changes == {"city": ["Aalst", "Gent"]}


def test_a_new_row_is_still_written(administration, member):
    assert row(administration, member).pk is not None


def test_no_code_of_the_portal_updates_or_deletes_activity_rows():
    """The model refuses at run time; this finds a path no test runs."""
    root = Path(__file__).resolve().parents[2]
    edit = re.compile(r"(Activity|activit)\w*(\.objects)?[^=\n]*\.(update|delete|bulk_update|save)\(")
    found = [
        f"{path.relative_to(root)}:{number}"
        for app in ("accounts", "clearfacts_app", "invoicing", "portal")
        for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if edit.search(line)
    ]
    assert found == []


# Staff read it in the admin; nobody changes it there


def test_staff_list_the_audit_log_with_what_happened_and_what_changed(admin_client, administration, member):
    activity = row(administration, member)

    listing = admin_client.get(CHANGELIST)
    detail = admin_client.get(f"{CHANGELIST}{activity.pk}/change/")

    assert listing.status_code == 200 and detail.status_code == 200
    assert "Audit log" in listing.text
    assert "Jan Peeters changed the invoicing profile" in listing.text
    assert "city: Aalst → Gent" in listing.text and "city: Aalst → Gent" in detail.text
    assert administration.office.name in listing.text
    assert 'name="_save"' not in detail.text and "deletelink" not in detail.text
    assert "delete_selected" not in listing.text, "no bulk delete action"
    for query in (
        {"office__id__exact": administration.office_id},
        {"action": "invoicing_profile.changed"},
        {"q": "Bakkerij"},
    ):
        assert admin_client.get(CHANGELIST, query).status_code == 200


def test_the_admin_refuses_every_edit_and_the_row_stays(admin_client, administration, member):
    activity = row(administration, member)

    change = admin_client.post(f"{CHANGELIST}{activity.pk}/change/", {"action": "x", "data": "{}", "changes": "{}"})
    delete = admin_client.post(f"{CHANGELIST}{activity.pk}/delete/", {"post": "yes"})
    add = admin_client.post(f"{CHANGELIST}add/", {"action": "x"})
    bulk = admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [activity.pk], "post": "yes"}
    )

    assert (change.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert bulk.status_code in (200, 302, 403)
    activity.refresh_from_db()
    assert (activity.action, activity.changes) == ("invoicing_profile.changed", {"city": ["Aalst", "Gent"]})
    assert Activity.objects.count() == 1


def test_people_of_an_office_cannot_reach_the_audit_log(client, owner):
    client.force_login(owner)

    response = client.get(CHANGELIST)

    assert response.status_code in (302, 403, 404)


# Only ever an INSERT (security review P2, P2b)


def test_a_row_built_with_the_id_of_an_existing_one_is_refused_and_the_row_stays(administration, member):
    activity = row(administration, member)
    forged = Activity(
        pk=activity.pk,
        office_id=activity.office_id,
        administration=administration,
        action="document.cancelled",
        data={"document": 1, "filename": "forged.pdf"},
    )

    with pytest.raises(AuditLogIsAppendOnly), transaction.atomic():
        forged.save()
    with pytest.raises(AuditLogIsAppendOnly), transaction.atomic():
        Activity(pk=activity.pk, office_id=activity.office_id, action="x").save(update_fields=["action"])

    kept = Activity.objects.get(pk=activity.pk)
    assert (kept.action, kept.actor, kept.changes) == ("invoicing_profile.changed", member, {"city": ["Aalst", "Gent"]})
    assert Activity.objects.count() == 1


def test_a_bulk_insert_never_merges_into_existing_rows(administration, member):
    activity = row(administration, member)
    forged = [Activity(pk=activity.pk, office_id=activity.office_id, administration=administration, action="x")]

    with pytest.raises(AuditLogIsAppendOnly):
        Activity.objects.bulk_create(
            forged, update_conflicts=True, unique_fields=["id"], update_fields=["action", "data"]
        )
    with pytest.raises(AuditLogIsAppendOnly):
        Activity.objects.bulk_create(forged, ignore_conflicts=True)
    with pytest.raises(AuditLogIsAppendOnly):
        Activity.objects.bulk_update(forged, ["action"])

    assert Activity.objects.get(pk=activity.pk).action == "invoicing_profile.changed"
    with transaction.atomic():
        written = activities_record([Activity(office_id=activity.office_id, administration=administration, action="y")])
    assert written[0].pk != activity.pk and Activity.objects.count() == 2


# Who acted is kept (security review P3): a person with rows cannot be deleted, only deactivated


def test_a_person_who_acted_cannot_be_deleted_and_the_row_still_names_them(office, administration, member):
    someone = make_user(office, administrations=[administration], name="Gone Person")
    activity = row(administration, someone)

    with pytest.raises(ProtectedError), transaction.atomic():
        someone.delete()

    assert Activity.objects.get(pk=activity.pk).actor == someone
    assert describe(Activity.objects.get(pk=activity.pk)).startswith("Gone Person")
    nobody = make_user(office, name="Never Acted")
    nobody.delete()  # a person without rows still can be


def test_the_admin_says_why_a_person_who_acted_cannot_be_deleted(admin_client, administration, member):
    row(administration, member)
    url = f"/admin/accounts/user/{member.pk}/delete/"

    page = admin_client.get(url)
    posted = admin_client.post(url, {"post": "yes"})
    bulk = admin_client.post(
        "/admin/accounts/user/", {"action": "delete_selected", "_selected_action": [member.pk], "post": "yes"}
    )

    assert page.status_code == 200 and "the audit log keeps who acted" in page.text
    assert "audit log entry" in page.text.lower()
    assert posted.status_code in (200, 403) and bulk.status_code in (200, 302, 403)
    assert User.objects.filter(pk=member.pk).exists() and Activity.objects.get().actor == member


# The admin changes no role, kind or grant (those would leave no row)


def test_grants_and_their_roles_are_read_only_in_the_admin(admin_client, administration, member):
    access = AdministrationAccess.objects.get(user=member, administration=administration)
    role = access.role
    other = Role.MANAGER if role != Role.MANAGER else Role.VIEWER
    url = f"/admin/clearfacts_app/administrationaccess/{access.pk}/change/"

    page = admin_client.get(url)
    change = admin_client.post(url, {"user": member.pk, "administration": administration.pk, "role": other})
    delete = admin_client.post(f"/admin/clearfacts_app/administrationaccess/{access.pk}/delete/", {"post": "yes"})
    add = admin_client.post(
        "/admin/clearfacts_app/administrationaccess/add/",
        {"user": member.pk, "administration": administration.pk, "role": other},
    )

    assert page.status_code == 200 and 'name="role"' not in page.text and 'name="_save"' not in page.text
    assert (change.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    assert AdministrationAccess.objects.get(pk=access.pk).role == role


def test_the_administration_page_shows_its_grants_read_only_and_a_post_changes_none(
    admin_client, administration, member
):
    access = AdministrationAccess.objects.get(user=member, administration=administration)
    role = access.role
    url = f"/admin/clearfacts_app/administration/{administration.pk}/change/"
    form = form_of(admin_client.get(url).text)
    assert not {name for name in form.editable if name.startswith("accesses-")}, form.editable

    data = form.values | {
        "accesses-TOTAL_FORMS": "1",
        "accesses-INITIAL_FORMS": "1",
        "accesses-0-id": str(access.pk),
        "accesses-0-administration": str(administration.pk),
        "accesses-0-role": Role.MANAGER if role != Role.MANAGER else Role.VIEWER,
        "accesses-0-DELETE": "on",
        "_save": "Save",
    }
    response = admin_client.post(url, data)

    assert response.status_code == 302, "the administration itself is saved"
    assert AdministrationAccess.objects.get(pk=access.pk).role == role


def test_office_role_and_kind_are_read_only_in_the_admin(admin_client, office, member):
    membership = Membership.objects.get(user=member)
    before = (membership.role, membership.kind, membership.office_id)
    other_office = make_office("Andere Fiduciaire")
    url = f"/admin/accounts/membership/{membership.pk}/change/"
    form = form_of(admin_client.get(url).text)
    assert not {"role", "kind", "office", "user"} & form.editable, form.editable

    response = admin_client.post(
        url, form.values | {"role": "admin", "kind": "client", "office": other_office.pk, "_save": "Save"}
    )

    assert response.status_code == 302, "saved, without what is read-only"

    membership.refresh_from_db()
    assert (membership.role, membership.kind, membership.office_id) == before


def test_the_user_page_shows_the_office_role_and_kind_read_only(admin_client, member):
    membership = Membership.objects.get(user=member)
    before = (membership.role, membership.kind)
    url = f"/admin/accounts/user/{member.pk}/change/"
    form = form_of(admin_client.get(url).text)
    assert not {"membership-0-role", "membership-0-kind"} & form.editable, form.editable

    values = {name: value for name, value in form.values.items() if name not in ("groups", "user_permissions")}
    response = admin_client.post(
        url, values | {"membership-0-role": "admin", "membership-0-kind": "client", "_save": "Save"}
    )

    assert response.status_code == 302, "saved, without what is read-only"

    membership.refresh_from_db()
    assert (membership.role, membership.kind) == before


# A staff change of a draft in the invoice admin is recorded; review and who changed it are not the admin's


def test_a_staff_change_of_a_draft_is_recorded_and_review_fields_are_read_only(
    admin_client, admin_user, administration, member, owner
):
    invoice = make_invoice(administration, member)
    Invoice.objects.filter(pk=invoice.pk).update(review=Review.APPROVED, reviewer=owner)
    url = f"/admin/invoicing/invoice/{invoice.pk}/change/"
    form = form_of(admin_client.get(url).text)
    assert not {"review", "reviewer", "changed_by", "version"} & form.editable, form.editable

    data = form.values | {
        "buyer_name": "Bianchi Spa",
        "lines-0-description": "Consulenza",
        "review": "approved",
        "reviewer": str(member.pk),
        "changed_by": str(owner.pk),
        "_save": "Save",
    }
    response = admin_client.post(url, data)

    assert response.status_code == 302, response.text
    invoice.refresh_from_db()
    assert (invoice.buyer_name, invoice.version) == ("Bianchi Spa", 2)
    assert (invoice.review, invoice.reviewer, invoice.changed_by) == (Review.IN_REVIEW, owner, admin_user)
    changed = Activity.objects.get(action="invoice.changed")
    assert changed.actor == admin_user and changed.administration == administration
    assert changed.changes["buyer_name"][1] == "Bianchi Spa" and "Consulenza" in changed.changes["lines"][1]
    assert set(changed.changes) == {"buyer_name", "lines"}, "only what changed"
    assert Activity.objects.filter(action="invoice.back_to_review", actor=admin_user).exists()


def test_a_staff_deletion_of_a_draft_is_recorded(admin_client, admin_user, administration, member):
    invoice = make_invoice(administration, member)

    admin_client.post(f"/admin/invoicing/invoice/{invoice.pk}/delete/", {"post": "yes"})

    assert not Invoice.objects.filter(pk=invoice.pk).exists()
    deleted = Activity.objects.get(action="invoice.deleted")
    assert (deleted.actor, deleted.data["number"]) == (admin_user, invoice.invoice_number)


# The sync records the grants Clearfacts gives and withdraws, once (against the sandbox over HTTP)


def test_the_sync_records_grants_and_withdrawals_once(portal):
    user = sign_in_directly(portal, AN).user  # the first sync gave the grants
    granted = Activity.objects.filter(action="access.granted")
    assert {activity.administration_id for activity in granted} == set(
        AdministrationAccess.objects.filter(user=user).values_list("administration_id", flat=True)
    )
    assert granted.count() >= 1
    assert all(a.actor is None and a.data == {"user": user.pk, "name": a.data["name"]} for a in granted)

    sync_user(user=user)
    assert Activity.objects.filter(action__startswith="access.").count() == granted.count(), "nothing changed"

    office = user.membership.office
    elsewhere = Administration.objects.create(office=office, company_number="0403170701", name="Weg BV")
    AdministrationAccess.objects.create(user=user, administration=elsewhere)
    sync_user(user=user)

    withdrawn = Activity.objects.get(action="access.withdrawn")
    assert (withdrawn.administration, withdrawn.office, withdrawn.data["user"]) == (elsewhere, office, user.pk)
    assert not AdministrationAccess.objects.filter(user=user, administration=elsewhere).exists()
    with translation.override("en"):
        assert describe(withdrawn) == f"Clearfacts withdrew the access of {withdrawn.data['name']}"
        assert describe(granted.first()) == f"Clearfacts gave {withdrawn.data['name']} access"
    sync_user(user=user)
    assert Activity.objects.filter(action="access.withdrawn").count() == 1
