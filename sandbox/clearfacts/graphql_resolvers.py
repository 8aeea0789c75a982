"""Resolvers of the simulated Clearfacts GraphQL API, bound to the contract's SDL file.

Each root field checks its scope first. Administrations are those the token's user may see;
anything else answers NOT_FOUND, exactly as a company that does not exist would.
"""

import datetime
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Sum
from graphql import REMOVE, GraphQLError, GraphQLSchema, StringValueNode, Visitor, build_ast_schema, parse, visit

from clearfacts_app.filetypes import FileKind, FileRefused, inspect
from sandbox.clearfacts.models import (
    AccessToken,
    AppInfo,
    ArchiveCategory,
    AssociateGroup,
    ClearfactsUser,
    Company,
    Customer,
    Document,
    Statistic,
)
from sandbox.clearfacts.ubl_check import check_customization

SCHEMA_FILE = Path(settings.BASE_DIR) / "clearfacts_app" / "graphql" / "schema.graphql"
CUSTOMERS_PAGE = 100
LANGUAGE = re.compile(r"^[a-z]{2}_[A-Z]{2}$")
VAT_NUMBER = re.compile(r"BE[0-9]{10}")


@dataclass
class Context:
    token: AccessToken
    file: UploadedFile | None = None

    @property
    def user(self) -> ClearfactsUser:
        return self.token.user


def error(code: str, message: str, **extensions) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


def require_scope(info, *scopes: str) -> Context:
    context: Context = info.context
    if not set(scopes) & context.token.scopes:
        raise error("MISSING_SCOPE", f"This token lacks the scope {scopes[0]}.", scope=scopes[0])
    return context


def compact_number(value: str) -> str:
    return re.sub(r"[^0-9]", "", value or "")


def visible_company(context: Context, number: str) -> Company:
    company = context.user.visible_companies().filter(company_number=compact_number(number)).first()
    if company is None:
        raise error("NOT_FOUND", "Administration not found.")
    return company


def _address(street: str, iso2: str, country: str) -> dict:
    return {"streetAddress": street, "country": {"iso2": iso2, "name": country}}


def _administration(company: Company) -> dict:
    return {
        "name": company.name,
        "companyNumber": company.company_number,
        "accountManager": company.account_manager,
        "emails": company.emails,
        "address": _address(company.street_address, company.country_iso2, company.country_name),
    }


def _associate(user: ClearfactsUser, plain_password: str | None = None) -> dict:
    return {
        "id": str(user.subject),
        "firstName": user.first_name,
        "lastName": user.last_name,
        "email": user.email,
        "type": user.associate_type or None,
        "active": user.active,
        "language": user.language,
        "associateGroups": [{"id": str(g.id), "name": g.name, "email": g.email} for g in user.associate_groups.all()],
        "plainPassword": plain_password,
    }


# --- queries ---


def accountant(root, info):
    accountant = require_scope(info, "accountant").user.accountant
    return {
        "name": accountant.name,
        "companyNumber": accountant.company_number,
        "email": accountant.email,
        "address": _address(accountant.street_address, accountant.country_iso2, accountant.country_name),
    }


def associates(root, info):
    context = require_scope(info, "associate_read")
    _require_associate(context)  # the office's staff list is not for its clients' users
    users = ClearfactsUser.objects.filter(accountant=context.user.accountant, kind=ClearfactsUser.Kind.ASSOCIATE)
    return [_associate(user) for user in users.prefetch_related("associate_groups")]


def associate_groups(root, info):
    context = require_scope(info, "associate_read")
    return [
        {"id": str(group.id), "name": group.name, "email": group.email}
        for group in AssociateGroup.objects.filter(accountant=context.user.accountant)
    ]


def administrations(root, info):
    context = require_scope(info, "read_administrations")
    return [_administration(company) for company in context.user.visible_companies()]


def administration(root, info, companyNumber):
    return _administration(visible_company(require_scope(info, "read_administrations"), companyNumber))


def document(root, info, id):
    context = require_scope(info, "upload_document")
    try:
        document_uuid = uuid.UUID(id)
    except ValueError:
        raise error("NOT_FOUND", "Document not found.") from None
    doc = (
        Document.objects.select_related("category")
        .filter(uuid=document_uuid, company__in=context.user.visible_companies())
        .first()
    )
    if doc is None:
        raise error("NOT_FOUND", "Document not found.")
    result = {
        "id": str(doc.uuid).upper(),
        "date": doc.date.isoformat(),
        "filename": doc.filename,
        "amountOfPages": doc.amount_of_pages,
    }
    if doc.destination == Document.Destination.ARCHIVE:
        category = {"id": str(doc.category.id), "name": doc.category.name} if doc.category else None
        return result | {"__typename": "ArchiveDocument", "archiveType": doc.archive_type, "category": category}
    return result | {"__typename": "InvoiceDocument", "type": doc.invoice_type, "paymentState": doc.payment_state}


def archive_categories(root, info, vatnumber):
    company = visible_company(require_scope(info, "archive_read"), vatnumber)
    categories = {kind: [] for kind in ArchiveCategory.Kind}
    for category in company.archive_categories.all():
        categories[category.kind].append({"id": str(category.id), "name": category.name})
    return {
        "various": categories[ArchiveCategory.Kind.VARIOUS],
        "permanent": categories[ArchiveCategory.Kind.PERMANENT],
    }


def journals(root, info, companyNumber):
    company = visible_company(require_scope(info, "journal_read"), companyNumber)
    return [{"id": j.code, "name": j.name, "creditNote": j.credit_note} for j in company.journals.all()]


def customers(root, info, companyNumber, offset=0):
    company = visible_company(require_scope(info, "contact_read"), companyNumber)
    if offset is None or offset < 0:
        raise error("BAD_USER_INPUT", "offset must be zero or more.")
    page = Customer.objects.filter(company=company).order_by("code")[offset : offset + CUSTOMERS_PAGE]
    return [{"id": c.code, "name": c.name, "vatNumber": c.vat_number, "city": c.city} for c in page]


RFC3339_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T.*)?")


def parse_date(value) -> datetime.date:
    """The `Date` scalar: an RFC 3339 date (a date-time's date part is accepted too)."""
    try:
        if isinstance(value, str) and RFC3339_DATE.fullmatch(value):
            return datetime.date.fromisoformat(value[:10])
    except ValueError:
        pass
    raise GraphQLError("Date must be an RFC 3339 date such as 2025-01-31.")


def parse_date_literal(node, _variables=None) -> datetime.date:
    return parse_date(getattr(node, "value", None) if isinstance(node, StringValueNode) else None)


def _months(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    first, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    return [datetime.date(index // 12, index % 12 + 1, 1) for index in range(first, last + 1)]


def company_statistics(root, info, type, startPeriod, endPeriod, companyNumber=None, invoiceType=None, worklist=None):
    context = require_scope(info, "statistics")
    kind = {"air": Statistic.Kind.AIR, "processing": Statistic.Kind.PROCESSING}.get((type or "").lower())
    if kind is None:
        raise error("BAD_USER_INPUT", "type must be AIR or processing.")
    start, end = startPeriod, endPeriod  # dates: the Date scalar parsed them
    if end < start:
        raise error("BAD_USER_INPUT", "endPeriod must not be before startPeriod.")
    if invoiceType not in (None, "SALE", "PURCHASE"):
        raise error("BAD_USER_INPUT", "invoiceType must be SALE or PURCHASE.")
    if companyNumber is None:
        companies = list(context.user.visible_companies())
    elif VAT_NUMBER.fullmatch(companyNumber):
        companies = [visible_company(context, companyNumber)]
    else:  # statistics name companies as they answer them, BE0123456789; nothing else is one
        raise error("NOT_FOUND", "Administration not found.")
    months = _months(start, end)
    rows = Statistic.objects.filter(company__in=companies, kind=kind, month__range=(months[0], months[-1]))
    if kind == Statistic.Kind.PROCESSING and invoiceType:
        rows = rows.filter(invoice_type=invoiceType)
    if kind == Statistic.Kind.PROCESSING and worklist is not None:
        rows = rows.filter(worklist=worklist)
    totals = {
        (r["company_id"], r["month"]): r["total"]
        for r in rows.values("company_id", "month").annotate(total=Sum("value"))
    }
    return [
        {
            "companyNumber": f"BE{company.company_number}",
            "items": [{"period": m.strftime("%m/%Y"), "value": totals.get((company.pk, m), 0)} for m in months],
        }
        for company in companies
    ]


# --- mutations ---


def _require_associate(context: Context, *, admin: bool = False) -> None:
    user = context.user
    if user.kind != ClearfactsUser.Kind.ASSOCIATE or (admin and user.associate_type != "ADMIN"):
        raise error(
            "FORBIDDEN",
            "Only associates of the accounting office may do this."
            if not admin
            else "Only administrators of the accounting office may do this.",
        )


def _associate_fields(context: Context, values: dict, *, exclude_pk=None) -> tuple[dict, list | None]:
    fields, groups = {}, None
    for key, field in (("firstName", "first_name"), ("lastName", "last_name")):
        if key in values:
            if not (values[key] or "").strip():
                raise error("BAD_USER_INPUT", f"{key} must not be empty.", field=key)
            fields[field] = values[key].strip()
    if "email" in values:
        email = (values["email"] or "").strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise error("BAD_USER_INPUT", "email is not a valid e-mail address.", field="email") from None
        taken = ClearfactsUser.objects.filter(username__iexact=email).exclude(pk=exclude_pk).exists()
        if taken:
            raise error("BAD_USER_INPUT", "A user with this e-mail address already exists.", field="email")
        fields.update(email=email, username=email)
    if values.get("type") is not None:
        fields["associate_type"] = values["type"]
    if values.get("active") is not None:
        fields["active"] = values["active"]
    if values.get("language") is not None:
        if not LANGUAGE.match(values["language"]):
            raise error("BAD_USER_INPUT", "language must look like nl_BE.", field="language")
        fields["locale"] = values["language"].replace("_", "-")
    if values.get("associateGroups") is not None:
        ids = [g["id"] for g in values["associateGroups"]]
        groups = list(AssociateGroup.objects.filter(accountant=context.user.accountant, id__in=_uuids(ids)))
        if len(groups) != len(set(ids)):
            raise error("BAD_USER_INPUT", "Unknown associate group.", field="associateGroups")
    return fields, groups


def _uuids(values):
    result = []
    for value in values:
        try:
            result.append(uuid.UUID(str(value)))
        except ValueError:
            raise error("BAD_USER_INPUT", "Unknown associate group.", field="associateGroups") from None
    return result


@transaction.atomic
def add_associate(root, info, associate):
    context = require_scope(info, "associate_actions")
    _require_associate(context)
    fields, groups = _associate_fields(context, associate)
    plain_password = secrets.token_urlsafe(9)
    user = ClearfactsUser(accountant=context.user.accountant, kind=ClearfactsUser.Kind.ASSOCIATE, **fields)
    user.set_password(plain_password)
    user.save()
    if groups:
        user.associate_groups.set(groups)
    return _associate(user, plain_password)


@transaction.atomic
def edit_associate(root, info, id, associate):
    context = require_scope(info, "associate_actions")
    _require_associate(context)
    try:
        subject = uuid.UUID(id)
    except ValueError:
        raise error("NOT_FOUND", "Associate not found.") from None
    user = ClearfactsUser.objects.filter(
        accountant=context.user.accountant, kind=ClearfactsUser.Kind.ASSOCIATE, subject=subject
    ).first()
    if user is None:
        raise error("NOT_FOUND", "Associate not found.")
    fields, groups = _associate_fields(context, associate, exclude_pk=user.pk)
    for name, value in fields.items():
        setattr(user, name, value)
    user.save()
    if groups is not None:
        user.associate_groups.set(groups)
    return _associate(user)


def _checked_upload(context: Context, filename: str):
    upload = context.file
    if upload is None:
        raise error("BAD_USER_INPUT", "Send the document as the multipart form field named file.")
    if not filename or len(filename) > 255 or re.search(r"[/\\\x00]", filename) or filename in (".", ".."):
        raise error("BAD_USER_INPUT", "filename must be a plain file name, without folders.", field="filename")
    try:
        kind, pages = inspect(upload)
        if kind is FileKind.XML:
            check_customization(upload)
    except FileRefused as refused:
        raise error("UNSUPPORTED_FILE", refused.message, reason=refused.code) from None
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return upload, kind, pages, digest.hexdigest()


def _store(context: Context, company: Company, filename: str, **fields) -> dict:
    upload, kind, pages, sha256 = _checked_upload(context, filename)
    doc = Document(
        company=company,
        uploaded_by=context.user,
        filename=filename,
        content_type=kind.value,
        size=upload.size,
        sha256=sha256,
        amount_of_pages=pages,
        **fields,
    )
    doc.file.save(f"{doc.uuid}.bin", upload, save=False)
    doc.save()
    return {"uuid": str(doc.uuid).upper(), "amountOfPages": doc.amount_of_pages}


def upload_file(root, info, vatnumber, filename, invoicetype):
    context = require_scope(info, "upload_document")
    company = visible_company(context, vatnumber)
    return _store(context, company, filename, destination=Document.Destination.INBOX, invoice_type=invoicetype)


def upload_archive_file(root, info, vatnumber, filename, type, category):
    context = require_scope(info, "archive_actions")
    company = visible_company(context, vatnumber)
    try:
        found = company.archive_categories.filter(kind=type, id=uuid.UUID(category)).first()
    except ValueError:
        found = None
    if found is None:
        raise error("BAD_USER_INPUT", f"Unknown {type.lower()} archive category.", field="category")
    return _store(
        context, company, filename, destination=Document.Destination.ARCHIVE, archive_type=type, category=found
    )


def update_app_info(root, info, vatnumber, imageUrl=None, emailaddress=None, badge=None, icon=None):
    context: Context = info.context
    oauth_client = context.token.client
    if oauth_client is not None and not oauth_client.connected_app:
        raise error("FORBIDDEN", "No app is connected to this integration; ask Clearfacts support to connect one.")
    _require_associate(context, admin=True)
    company = visible_company(context, vatnumber)
    if emailaddress:
        try:
            validate_email(emailaddress)
        except ValidationError:
            raise error("BAD_USER_INPUT", "emailaddress is not a valid e-mail address.", field="emailaddress") from None
    app_info, _ = AppInfo.objects.get_or_create(company=company)
    updates = {
        "image_url": imageUrl,
        "email": emailaddress,
        "badge_text": (badge or {}).get("text"),
        "badge_text_color": (badge or {}).get("textColor"),
        "badge_color": (badge or {}).get("color"),
        "icon_type": (icon or {}).get("type"),
        "icon_color": (icon or {}).get("color"),
    }
    for name, value in updates.items():
        if value is not None:
            setattr(app_info, name, value[:500])
    app_info.save()
    return {
        "vatnumber": company.company_number,
        "imageUrl": app_info.image_url,
        "emailaddress": app_info.email,
        "icon": {"type": app_info.icon_type, "color": app_info.icon_color},
        "badge": {"text": app_info.badge_text, "textColor": app_info.badge_text_color, "color": app_info.badge_color},
    }


RESOLVERS = {
    "Query": {
        "accountant": accountant,
        "associates": associates,
        "associateGroups": associate_groups,
        "administrations": administrations,
        "administration": administration,
        "document": document,
        "archiveCategories": archive_categories,
        "journals": journals,
        "customers": customers,
        "getCompanyStatistics": company_statistics,
    },
    "Mutation": {
        "addAssociate": add_associate,
        "editAssociate": edit_associate,
        "uploadFile": upload_file,
        "uploadArchiveFile": upload_archive_file,
        "updateAppInfo": update_app_info,
    },
}


def _is_assumed(node) -> bool:
    return any(directive.name.value == "assumed" for directive in node.directives or ())


class _WithoutAssumed(Visitor):
    """Leaves the portal's own @assumed marks out of the SDL, and with `strip` what they mark."""

    def __init__(self, *, strip: bool):
        super().__init__()
        self.strip = strip

    def enter_directive_definition(self, node, *_):
        return REMOVE if node.name.value == "assumed" else None

    def enter_directive(self, node, *_):
        return REMOVE if node.name.value == "assumed" else None

    def enter_field_definition(self, node, *_):
        return REMOVE if self.strip and _is_assumed(node) else None

    def enter_object_type_definition(self, node, *_):
        return REMOVE if self.strip and _is_assumed(node) else None


def _document_type(value, info, abstract_type):
    typename = value["__typename"]
    # Without the assumed ArchiveDocument an archive document answers as the one documented kind.
    return typename if info.schema.get_type(typename) else "InvoiceDocument"


def build_executable_schema(*, documented_only: bool = False, sdl: str | None = None) -> GraphQLSchema:
    """The contract's SDL (or `sdl`) with resolvers; `documented_only` leaves out what the SDL marks
    @assumed, as a Clearfacts that has only what its public documentation shows."""
    document = visit(parse(sdl or SCHEMA_FILE.read_text()), _WithoutAssumed(strip=documented_only))
    schema = build_ast_schema(document)
    for type_name, fields in RESOLVERS.items():
        graphql_type = schema.get_type(type_name)
        missing = set(graphql_type.fields) - set(fields)
        if missing:
            raise RuntimeError(f"no resolver for {type_name}.{', '.join(sorted(missing))}")
        for field_name, resolver in fields.items():
            graphql_type.fields[field_name].resolve = resolver
    date = schema.get_type("Date")
    date.coerce_input_value, date.coerce_input_literal = parse_date, parse_date_literal
    date.coerce_output_value = datetime.date.isoformat
    schema.get_type("Document").resolve_type = _document_type
    return schema


schema = build_executable_schema()
documented_only_schema = build_executable_schema(documented_only=True)


def current_schema() -> GraphQLSchema:
    """The schema the sandbox answers with now (SANDBOX_CLEARFACTS_DOCUMENTED_ONLY, read per request)."""
    return documented_only_schema if getattr(settings, "SANDBOX_CLEARFACTS_DOCUMENTED_ONLY", False) else schema
