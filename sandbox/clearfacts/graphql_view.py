"""POST /sandbox/clearfacts/graphql: the simulated Clearfacts GraphQL endpoint.

Bodies as the spec describes them: application/json ({"query", "variables"}),
application/graphql (the query itself) and multipart/form-data with the fields `query`,
`variables` (a JSON string) and `file` (Clearfacts' own upload format, not the GraphQL
multipart request spec). No token, or a revoked or expired one, is HTTP 401.
"""

import json
import logging

from django.http import JsonResponse
from django.views.decorators.http import require_POST
from graphql import GraphQLError, OperationDefinitionNode, execute, parse, validate

from sandbox.clearfacts import bearer, malformed
from sandbox.clearfacts.graphql_resolvers import Context, current_schema
from sandbox.instrument import sandbox_api
from sandbox.models import Service

logger = logging.getLogger(__name__)


class BadRequest(Exception):
    pass


def _request_parts(request) -> tuple[str, dict, str | None]:
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("The body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise BadRequest("The JSON body must be an object with a query.")
        query, variables, operation = body.get("query"), body.get("variables"), body.get("operationName")
    elif content_type == "application/graphql":
        query, variables, operation = request.body.decode("utf-8", "replace"), None, None
    elif content_type == "multipart/form-data":
        query, operation = request.POST.get("query"), request.POST.get("operationName")
        try:
            variables = json.loads(request.POST.get("variables") or "null")
        except ValueError:
            raise BadRequest("The variables field is not valid JSON.") from None
    else:
        raise BadRequest("Send application/json, application/graphql or multipart/form-data.")
    if not isinstance(query, str) or not query.strip():
        raise BadRequest("No query.")
    if variables is not None and not isinstance(variables, dict):
        raise BadRequest("variables must be a JSON object.")
    return query, variables or {}, operation


def operation_fields(request) -> str:
    """The root fields a request asks for, e.g. "uploadFile" (for the log and fault plans)."""
    query, _, operation_name = _request_parts(request)
    names = []
    for definition in parse(query).definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        ):
            names += [
                selection.name.value for selection in definition.selection_set.selections if hasattr(selection, "name")
            ]
    return ",".join(names)


def _root_fields(document, operation_name: str | None) -> dict[str, str]:
    """Response key -> root field name of the operation run (for planned malformed answers)."""
    fields = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        ):
            for selection in definition.selection_set.selections:
                if hasattr(selection, "name"):
                    fields[(selection.alias or selection.name).value] = selection.name.value
    return fields


def _errors(*errors: GraphQLError, status: int) -> JsonResponse:
    return JsonResponse({"errors": [e.formatted for e in errors]}, status=status)


def _bad_request(message: str, code: str = "BAD_REQUEST") -> JsonResponse:
    return _errors(GraphQLError(message, extensions={"code": code}), status=400)


def graphql_fault(status: int) -> JsonResponse:
    return _errors(GraphQLError("Service temporarily unavailable.", extensions={"code": "UNAVAILABLE"}), status=status)


def _formatted(error: GraphQLError) -> dict:
    if error.original_error is not None and not isinstance(error.original_error, GraphQLError):
        logger.error("sandbox GraphQL resolver failed", exc_info=error.original_error)
        return GraphQLError(
            "Internal server error.", path=error.path, extensions={"code": "INTERNAL_SERVER_ERROR"}
        ).formatted
    return error.formatted


@sandbox_api(Service.CLEARFACTS_GRAPHQL, operation=operation_fields, fault_response=graphql_fault)
@require_POST
def graphql_endpoint(request):
    token = bearer.authenticate(request.headers.get("Authorization", ""))
    if token is None:
        response = _errors(
            GraphQLError(
                "The access token is missing, invalid, revoked or expired.", extensions={"code": "UNAUTHENTICATED"}
            ),
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    request.sandbox_caller = token.user.username
    try:
        query, variables, operation_name = _request_parts(request)
        document = parse(query)
    except BadRequest as problem:
        return _bad_request(str(problem))
    except GraphQLError as syntax_error:
        syntax_error.extensions = {"code": "GRAPHQL_PARSE_FAILED"}
        return _errors(syntax_error, status=400)
    schema = current_schema()
    validation_errors = validate(schema, document)
    if validation_errors:
        for validation_error in validation_errors:
            validation_error.extensions = {"code": "GRAPHQL_VALIDATION_FAILED"}
        return _errors(*validation_errors, status=400)

    result = execute(
        schema,
        document,
        variable_values=variables,
        operation_name=operation_name,
        context_value=Context(token=token, file=request.FILES.get("file")),
    )
    body = {"data": malformed.apply(result.data, _root_fields(document, operation_name))}
    if result.errors:
        body["errors"] = [_formatted(e) for e in result.errors]
    return JsonResponse(body)
