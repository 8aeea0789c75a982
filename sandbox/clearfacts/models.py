"""The simulated Clearfacts: its accounting offices, companies, users, documents and OAuth data.

These are Clearfacts' own records, deliberately separate from the portal's mirror of them
(accounts.Office, clearfacts_app.Administration): the portal only learns them through the API.
"""

import hashlib
import hmac
import uuid

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin
from django.contrib.auth.hashers import check_password, make_password
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

from portal.crypto import EncryptedTextField


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _document_storage():
    from django.conf import settings

    return FileSystemStorage(location=settings.VAR_DIR / "sandbox-clearfacts-files")


class Accountant(models.Model):
    """An accounting office (what the `accountant` query answers)."""

    name = models.CharField(max_length=200)
    company_number = models.CharField(max_length=10, unique=True)
    email = models.EmailField(blank=True)
    street_address = models.CharField(max_length=300, blank=True)
    country_iso2 = models.CharField(max_length=2, default="BE")
    country_name = models.CharField(max_length=100, default="Belgium")

    def __str__(self):
        return self.name


class Company(models.Model):
    """An administration: a company whose books the accountant keeps."""

    accountant = models.ForeignKey(Accountant, on_delete=models.CASCADE, related_name="companies")
    name = models.CharField(max_length=200)
    company_number = models.CharField(max_length=10, unique=True)
    account_manager = models.CharField(max_length=254, blank=True)
    street_address = models.CharField(max_length=300, blank=True)
    country_iso2 = models.CharField(max_length=2, default="BE")
    country_name = models.CharField(max_length=100, default="Belgium")
    emails = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.company_number})"


class AssociateGroup(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    accountant = models.ForeignKey(Accountant, on_delete=models.CASCADE, related_name="associate_groups")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ClearfactsUser(models.Model):
    """A person with a Clearfacts login: an associate of the office, or a client of a company."""

    class Kind(models.TextChoices):
        ASSOCIATE = "associate", "Associate (office employee)"
        CLIENT = "client", "Client (company user)"

    class AssociateType(models.TextChoices):
        ADMIN = "ADMIN", "Admin"
        USER = "USER", "User"

    subject = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    accountant = models.ForeignKey(Accountant, on_delete=models.CASCADE, related_name="users")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CLIENT)
    associate_type = models.CharField(max_length=10, choices=AssociateType.choices, blank=True)
    username = models.CharField(max_length=254, unique=True)
    email = models.EmailField()
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    locale = models.CharField(max_length=10, default="nl-BE")
    active = models.BooleanField(default=True)
    password = models.CharField(max_length=200)
    sees_all_companies = models.BooleanField(
        default=False, help_text="An associate who sees every company of the office."
    )
    companies = models.ManyToManyField(Company, blank=True, related_name="users")
    associate_groups = models.ManyToManyField(AssociateGroup, blank=True, related_name="associates")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["username"]

    def __str__(self):
        return self.username

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def language(self) -> str:
        return self.locale.replace("-", "_")

    def set_password(self, raw: str) -> None:
        self.password = make_password(raw)

    def check_password(self, raw: str) -> bool:
        return check_password(raw, self.password)

    def visible_companies(self):
        if self.sees_all_companies:
            return Company.objects.filter(accountant=self.accountant)
        return self.companies.filter(accountant=self.accountant)


class Journal(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="journals")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    credit_note = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["company", "code"], name="unique_journal_code")]

    def __str__(self):
        return f"{self.code} {self.name}"


class Customer(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="customers")
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    vat_number = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["company", "code"], name="unique_customer_code")]

    def __str__(self):
        return self.name


class ArchiveCategory(models.Model):
    class Kind(models.TextChoices):
        VARIOUS = "VARIOUS", "Various"
        PERMANENT = "PERMANENT", "Permanent"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="archive_categories")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=200)

    class Meta:
        verbose_name_plural = "archive categories"
        ordering = ["kind", "name"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.name}"


class Statistic(models.Model):
    """One month's count for a company: AIR recognitions, or documents processed."""

    class Kind(models.TextChoices):
        AIR = "AIR", "Automatic invoice recognition"
        PROCESSING = "processing", "Processing"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="statistics")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    month = models.DateField(help_text="The first day of the month.")
    invoice_type = models.CharField(max_length=10, blank=True, help_text="PURCHASE or SALE (processing only).")
    worklist = models.BooleanField(default=False)
    value = models.PositiveIntegerField()

    class Meta:
        ordering = ["month"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "kind", "month", "invoice_type", "worklist"], name="unique_statistic"
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.month:%m/%Y} {self.company}: {self.value}"


class Document(models.Model):
    """A file uploaded into a company's inbox or archive."""

    class Destination(models.TextChoices):
        INBOX = "inbox", "Inbox"
        ARCHIVE = "archive", "Archive"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="documents")
    uploaded_by = models.ForeignKey(ClearfactsUser, on_delete=models.SET_NULL, null=True, related_name="+")
    destination = models.CharField(max_length=10, choices=Destination.choices)
    invoice_type = models.CharField(max_length=10, blank=True)
    archive_type = models.CharField(max_length=10, blank=True)
    category = models.ForeignKey(ArchiveCategory, on_delete=models.SET_NULL, null=True, blank=True)
    filename = models.CharField(max_length=255)
    file = models.FileField(storage=_document_storage, upload_to="%Y/%m/")
    content_type = models.CharField(max_length=50)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    amount_of_pages = models.PositiveIntegerField()
    date = models.DateField(default=timezone.localdate)
    payment_state = models.CharField(max_length=20, default="UNPAID")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self):
        return f"{self.filename} → {self.company}"


class AppInfo(models.Model):
    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="app_info")
    image_url = models.CharField(max_length=500, blank=True)
    email = models.CharField(max_length=254, blank=True)
    badge_text = models.CharField(max_length=50, blank=True)
    badge_text_color = models.CharField(max_length=30, blank=True)
    badge_color = models.CharField(max_length=30, blank=True)
    icon_type = models.CharField(max_length=50, blank=True)
    icon_color = models.CharField(max_length=30, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"App info of {self.company}"


# --- OpenID Connect / OAuth 2 (the mixins are what authlib's grants call) ---

# Every scope Clearfacts knows (the spec's table, plus offline_access from the addendum).
SCOPES = {
    "openid": "Identify you (required for OpenID Connect)",
    "email": "Your e-mail address",
    "profile": "Your name and language",
    "offline_access": "Stay connected when you are not using the application (refresh tokens)",
    "accountant": "Consult the details of the accountant",
    "statistics": "Consult accountant statistics",
    "read_administrations": "See the administrations you have access to",
    "associate_read": "Consult employees",
    "associate_actions": "Modify and create employees",
    "journal_read": "Consult the company's journals",
    "contact_read": "Consult the company's customers",
    "upload_document": "Upload documents and invoices for the administrations you have access to",
    "archive_read": "Consult the list of available archive categories",
    "archive_actions": "Make adjustments in the archive",
    "archive": "Consult and adjust the archive",
}


class OAuthClient(models.Model, ClientMixin):
    """An application registered with Clearfacts ("Integrations" → "Create new application")."""

    client_id = models.CharField(max_length=100, unique=True)
    client_secret_hash = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    redirect_uris = models.TextField(help_text="One URI per line.")
    connected_app = models.BooleanField(
        default=False, help_text="Clearfacts support connected an app to this integration (updateAppInfo works)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "OAuth client"

    def __str__(self):
        return self.name

    def set_secret(self, secret: str) -> None:
        self.client_secret_hash = token_hash(secret)

    @cached_property
    def redirect_uri_list(self) -> list[str]:
        return [uri.strip() for uri in self.redirect_uris.splitlines() if uri.strip()]

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uri_list[0] if self.redirect_uri_list else None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uri_list

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(token_hash(client_secret or ""), self.client_secret_hash)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


class Consent(models.Model):
    """Scopes a user already approved for a client, so the consent page is asked once."""

    user = models.ForeignKey(ClearfactsUser, on_delete=models.CASCADE, related_name="consents")
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="consents")
    scope = models.TextField()
    granted_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="unique_consent")]

    def __str__(self):
        return f"{self.user} → {self.client}: {self.scope}"


class AuthorizationCode(models.Model, AuthorizationCodeMixin):
    code_hash = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE)
    user = models.ForeignKey(ClearfactsUser, on_delete=models.CASCADE)
    redirect_uri = models.TextField()
    scope = models.TextField()
    nonce = models.CharField(max_length=200, blank=True)
    code_challenge = models.CharField(max_length=128, blank=True)
    code_challenge_method = models.CharField(max_length=10, blank=True)
    auth_time = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"code for {self.user} → {self.client}"

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce or None

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


class AccessToken(models.Model, TokenMixin):
    """An access token: issued through OpenID Connect, or a personal access token.

    Only hashes are stored. The OIDC access token handed out is a signed JWT carrying the
    80-character token; either one is accepted as a Bearer token.
    """

    class Kind(models.TextChoices):
        OIDC = "oidc", "OpenID Connect"
        PERSONAL = "personal", "Personal access token"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=200, blank=True)
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, null=True, blank=True, related_name="tokens")
    user = models.ForeignKey(ClearfactsUser, on_delete=models.CASCADE, related_name="tokens")
    authorization_code = models.ForeignKey(AuthorizationCode, on_delete=models.SET_NULL, null=True, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=8)
    refresh_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    scope = models.TextField()
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    refresh_revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.token_prefix}… of {self.user}"

    @property
    def scopes(self) -> set[str]:
        granted = set(self.scope.split())
        if "archive" in granted:
            granted |= {"archive_read", "archive_actions"}
        return granted

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def check_client(self, client):
        return self.client_id == client.pk

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return int((self.expires_at - self.issued_at).total_seconds()) if self.expires_at else 0

    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def is_revoked(self):
        return self.revoked_at is not None

    def get_user(self):
        return self.user

    def get_client(self):
        return self.client

    def refresh_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.refresh_token_hash is not None
            and self.refresh_revoked_at is None
            and self.refresh_expires_at is not None
            and self.refresh_expires_at > now
        )


class SigningKey(models.Model):
    """An RS256 key the provider signs with. Retired keys stay in the JWKS for a grace period."""

    kid = models.CharField(max_length=64, unique=True)
    private_pem = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True, help_text="Empty: the key signing now.")
    published_until = models.DateTimeField(
        null=True, blank=True, help_text="A retired key stays in the JWKS until then."
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.kid


class Misbehaviour(models.Model):
    """The next `remaining` token (or userinfo) answers break the protocol in one chosen way.

    For testing relying parties: a provider that can misbehave on demand, over real HTTP.
    """

    class Kind(models.TextChoices):
        TAMPERED_SIGNATURE = "tampered_signature", "id_token with a tampered signature"
        ALG_NONE = "alg_none", "unsigned id_token (alg: none)"
        HS256_CLIENT_SECRET = "hs256_client_secret", "id_token signed HS256 with the client secret"
        WRONG_AUDIENCE = "wrong_audience", "id_token for another client"
        WRONG_ISSUER = "wrong_issuer", "id_token from another issuer"
        EXPIRED = "expired", "expired id_token"
        WRONG_NONCE = "wrong_nonce", "id_token with another nonce"
        MISSING_SUB = "missing_sub", "id_token without sub"
        MISSING_IAT = "missing_iat", "id_token without iat"
        NO_KID = "no_kid", "id_token without kid"
        UNKNOWN_KID = "unknown_kid", "id_token with a kid the JWKS does not have"
        USERINFO_OTHER_SUB = "userinfo_other_sub", "userinfo about another subject"
        NO_SCOPE = "no_scope", "token answer without scope"
        SLOW_ANSWER = "slow_answer", "token answer delayed after the tokens are issued"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    remaining = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.remaining}× {self.get_kind_display()}"
