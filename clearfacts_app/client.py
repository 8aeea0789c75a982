"""The portal's one Clearfacts GraphQL client (gql), acting for a user with their stored token.

Operations live in graphql/operations/*.graphql and are validated against the contract's SDL
(graphql/schema.graphql) when this module loads, so an operation that drifts from the contract
fails at start-up and in the tests, not in production. Errors are typed and say whether a retry
can help.
"""

import hashlib
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from gql import Client, GraphQLRequest
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportError,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.requests import RequestsHTTPTransport
from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode, build_schema, parse, print_ast, validate
from requests_toolbelt import MultipartEncoder

from accounts.credentials import (
    CredentialRefused,
    CredentialTemporarilyUnavailable,
    CredentialUnavailable,
    access_token_for,
    credential_invalidate,
)
from clearfacts_app import answers
from portal.http import ExternalSession

logger = logging.getLogger(__name__)

GRAPHQL_DIR = Path(__file__).resolve().parent / "graphql"


class ClearfactsError(Exception):
    """A Clearfacts call failed. `retryable` says whether trying again later can help."""

    retryable = False

    def __init__(self, message: str = "", *, code: str = "", details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or {}


class Unavailable(ClearfactsError):
    """Clearfacts could not be reached or failed (transport error, 5xx)."""

    retryable = True


class NotAuthorized(ClearfactsError, CredentialRefused):
    """Clearfacts refused the user's token (or there is none): they must sign in again."""


class MissingScope(ClearfactsError):
    """The user's token lacks the scope this operation needs (`details["scope"]`)."""


class NotFound(ClearfactsError):
    """The object does not exist, or the user may not see it."""


class Refused(ClearfactsError):
    """Clearfacts refused the request itself (bad input, forbidden); `message` says why."""


class ClearfactsAnswerInvalid(ClearfactsError):
    """Clearfacts answered, but not in the shape the operation and the contract promise (a null or
    missing list or object, a wrong type): it could not say. Callers keep what they had."""


class SchemaMismatch(Refused):
    """Clearfacts refused the operation itself: its schema lacks a field, type or argument asked for."""


class OutcomeUnknown(ClearfactsError):
    """Clearfacts received the whole upload but its answer was lost or unusable: it may have
    stored the file. Sending it again could make a second copy."""


def _load_schema() -> GraphQLSchema:
    return build_schema((GRAPHQL_DIR / "schema.graphql").read_text())


def load_operations(schema: GraphQLSchema, directory: Path = GRAPHQL_DIR / "operations") -> dict[str, DocumentNode]:
    """The named operations of every .graphql file in `directory`, each validated against `schema`."""
    operations = {}
    for path in sorted(directory.glob("*.graphql")):
        document = parse(path.read_text())
        errors = validate(schema, document)
        if errors:
            raise ImproperlyConfigured(f"{path.name} does not match the Clearfacts schema: {errors[0].message}")
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name:
                operations[definition.name.value] = document
    return operations


SCHEMA = _load_schema()
OPERATIONS = load_operations(SCHEMA)


class _Transport(RequestsHTTPTransport):
    def _prepare_result(self, response):
        # HTTP 401 means the token, whatever the body says.
        if response.status_code == 401:
            raise TransportServerError("401 Unauthorized", 401)
        return super()._prepare_result(response)


# An operation that asks for assumed fields (docs/decisions.md), and the documented operation asked
# instead when Clearfacts' schema lacks them; that is remembered for FALLBACK_MEMORY_SECONDS.
FALLBACKS = {
    "AssociatesWithDetails": "Associates",
    "CustomersWithDetails": "Customers",
    "DocumentWithDetails": "Document",
}
FALLBACK_MEMORY_SECONDS = 3600
# Operations that ask for assumed fields: a Clearfacts without them refuses only these.
ASSUMED_OPERATIONS = {*FALLBACKS, "AssociateRoles"}
# What GraphQL servers say when a query does not validate against their schema (graphql-js and
# graphql-php word it the same way); Apollo-style servers add the code GRAPHQL_VALIDATION_FAILED.
SCHEMA_MISMATCH = re.compile(
    r"Cannot query field|Unknown type|Unknown argument|Unknown directive|on type .* can never be of type"
    r'|Variable ".*" of type ".*" used in position expecting'
)

_ERROR_TYPES = {
    "MISSING_SCOPE": MissingScope,
    "NOT_FOUND": NotFound,
    "UNAVAILABLE": Unavailable,
    "INTERNAL_SERVER_ERROR": Unavailable,
}


def _token(user) -> str:
    try:
        return access_token_for(user)
    except CredentialUnavailable as error:
        raise NotAuthorized(str(error)) from error
    except CredentialTemporarilyUnavailable as error:
        raise Unavailable(str(error)) from error


def _lacks_key(operation: str) -> str:
    endpoint = hashlib.sha256(settings.CLEARFACTS_GRAPHQL_URL.encode()).hexdigest()[:16]
    return f"clearfacts:schema-lacks:{endpoint}:{operation}"


def execute(*, user, operation: str, variables: dict | None = None) -> dict:
    """Runs one of the named operations for `user`; returns its checked `data` or raises a ClearfactsError.

    An operation with assumed fields that Clearfacts' schema refuses is asked again as its
    documented fallback (FALLBACKS), whose answer lacks those fields.
    """
    fallback = FALLBACKS.get(operation)
    if fallback is None:
        return _execute(user=user, operation=operation, variables=variables)
    if cache.get(_lacks_key(operation)):
        return _execute(user=user, operation=fallback, variables=variables)
    try:
        return _execute(user=user, operation=operation, variables=variables)
    except SchemaMismatch as mismatch:
        logger.warning("Clearfacts refused %s (%r); asking %s instead", operation, mismatch.message, fallback)
        cache.set(_lacks_key(operation), True, FALLBACK_MEMORY_SECONDS)
        return _execute(user=user, operation=fallback, variables=variables)


def _execute(*, user, operation: str, variables: dict | None) -> dict:
    document = OPERATIONS[operation]
    token = _token(user)
    transport = _Transport(
        url=settings.CLEARFACTS_GRAPHQL_URL,
        headers={"Authorization": f"Bearer {token}", "User-Agent": "clearfacts-portal"},
        timeout=settings.EXTERNAL_TIMEOUT,
    )
    request = GraphQLRequest(document, variable_values=variables, operation_name=operation)
    try:
        with Client(transport=transport, schema=SCHEMA) as session:
            data = session.execute(request)
    except TransportQueryError as error:
        raise _query_error(user, operation, error.errors) from error
    except TransportServerError as error:
        if error.code == 401:
            credential_invalidate(user=user, reason="Clearfacts refused the access token (HTTP 401)")
            raise NotAuthorized("Clearfacts refused the access token") from error
        if error.code is None or error.code >= 500:
            raise Unavailable(f"Clearfacts answered HTTP {error.code}") from error
        raise Refused(f"Clearfacts answered HTTP {error.code}") from error
    except (TransportConnectionFailed, TransportProtocolError, TransportError, requests.RequestException) as error:
        raise Unavailable(f"Clearfacts could not be reached ({error.__class__.__name__})") from error
    return checked_answer(operation, data)


def checked_answer(operation: str, data) -> dict:
    """`data` as the operation asked for it (see answers.py); raises ClearfactsAnswerInvalid."""
    try:
        return answers.checked(SCHEMA, OPERATIONS[operation], operation, data)
    except answers.AnswerInvalid as invalid:
        logger.warning("Clearfacts %s answered in an unusable shape: %s", operation, invalid)
        raise ClearfactsAnswerInvalid(f"Clearfacts' answer to {operation} is unusable ({invalid})") from invalid


def _query_error(user, operation: str, errors: list | None) -> ClearfactsError:
    first = (errors or [{}])[0]
    extensions = first.get("extensions") or {}
    code = extensions.get("code", "")
    message = first.get("message", "")
    logger.info("Clearfacts %s answered %r: %r", operation, code or "an error", message)
    if code == "UNAUTHENTICATED":
        credential_invalidate(user=user, reason="Clearfacts refused the access token")
        return NotAuthorized(message, code=code)
    if code == "GRAPHQL_VALIDATION_FAILED" or SCHEMA_MISMATCH.search(message):
        return SchemaMismatch(message, code=code or "GRAPHQL_VALIDATION_FAILED", details=extensions)
    return _ERROR_TYPES.get(code, Refused)(message, code=code, details=extensions)


_upload_session = ExternalSession(user_agent="clearfacts-portal")
UPLOAD_CHUNK = 1024 * 1024
# urllib3 sends a request body under the *connect* timeout, each 1 MB chunk within it: a slow
# uplink needs far more than the usual 5 s (60 s is 17 KB/s at least).
UPLOAD_SEND_TIMEOUT = 60


class _ChunkedReader:
    """Hands the encoder's bytes to requests in 1 MB reads (http.client would read 8 KB at a time),
    tells `progress` after each one, and notes when the whole body has been handed over."""

    def __init__(self, encoder: MultipartEncoder, progress: Callable[[bool], None] | None):
        self.encoder = encoder
        self.len = encoder.len
        self.progress = progress
        self.finished = False

    def read(self, size=-1):
        chunk = self.encoder.read(UPLOAD_CHUNK if size is None or size < UPLOAD_CHUNK else size)
        self.finished = not chunk
        if self.progress:
            self.progress(self.finished)
        return chunk


def upload(*, user, operation: str, variables: dict, stream, filename: str, content_type: str, progress=None) -> dict:
    """Sends a file the way Clearfacts wants it: multipart fields `query`, `variables` and `file`.

    The file is streamed from `stream` (never read into memory whole); `progress(finished)` is
    called as it goes out. Returns the mutation's data, e.g. {"uuid": ..., "amountOfPages": ...},
    or raises a ClearfactsError: Unavailable when Clearfacts cannot have stored the file (so
    sending it again is safe), OutcomeUnknown when it may have.
    """
    document = OPERATIONS[operation]
    token = _token(user)
    encoder = MultipartEncoder(
        fields={
            "query": print_ast(document),
            "variables": json.dumps(variables),
            "file": (filename, stream, content_type),
        }
    )
    body = _ChunkedReader(encoder, progress)
    try:
        response = _upload_session.post(
            settings.CLEARFACTS_GRAPHQL_URL,
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": encoder.content_type},
            timeout=(UPLOAD_SEND_TIMEOUT, settings.CLEARFACTS_UPLOAD_ANSWER_TIMEOUT),
        )
    except requests.RequestException as error:
        failure = error.__class__.__name__
        if body.finished:
            raise OutcomeUnknown(f"Clearfacts received the file but did not answer ({failure})") from error
        raise Unavailable(f"Clearfacts could not be reached ({failure})") from error
    if response.status_code == 401:
        credential_invalidate(user=user, reason="Clearfacts refused the access token (HTTP 401)")
        raise NotAuthorized("Clearfacts refused the access token")
    if response.status_code == 504 and body.finished:
        # A gateway gave up waiting; Clearfacts behind it may have gone on and stored the file.
        raise OutcomeUnknown("a gateway in front of Clearfacts timed out (HTTP 504)")
    if response.status_code >= 500 or response.status_code == 429:
        raise Unavailable(f"Clearfacts answered HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict) and answer.get("errors"):
        raise _query_error(user, operation, answer["errors"])
    data = answer.get("data") if isinstance(answer, dict) else None
    try:
        checked = answers.checked(SCHEMA, document, operation, data)
    except answers.AnswerInvalid as invalid:
        if response.ok:
            logger.warning("Clearfacts %s answered in an unusable shape: %s", operation, invalid)
            raise OutcomeUnknown("Clearfacts answered without a usable id for the uploaded file") from invalid
    else:
        uploaded = next(iter(checked.values()))
        if uploaded["uuid"].strip():
            return uploaded
        if response.ok:
            raise OutcomeUnknown("Clearfacts answered without a usable id for the uploaded file")
    raise Refused(f"Clearfacts answered HTTP {response.status_code} without a GraphQL result")
