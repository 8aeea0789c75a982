"""How the shipped GraphQL operations fit a live Clearfacts schema (manage.py clearfacts_schema_drift).

The live schema comes from GraphQL introspection. Each operation file is validated against it
(missing fields, types, arguments, variables of the wrong type), and each field and argument it
uses is compared with the contract's SDL: a type that differs there means answers or variables
that no longer mean what the portal thinks.
"""

from dataclasses import dataclass, field
from pathlib import Path

import requests
from graphql import (
    ArgumentNode,
    FieldNode,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_client_schema,
    get_introspection_query,
    parse,
    validate,
    visit,
)

from clearfacts_app.client import ASSUMED_OPERATIONS, GRAPHQL_DIR, SCHEMA


class IntrospectionFailed(Exception):
    pass


def live_schema(url: str, token: str, *, timeout: float = 30) -> GraphQLSchema:
    """The schema Clearfacts at `url` serves, by introspection with `token`."""
    try:
        response = requests.post(
            url,
            json={"query": get_introspection_query(descriptions=False)},
            headers={"Authorization": f"Bearer {token}", "User-Agent": "clearfacts-portal"},
            timeout=timeout,
        )
        body = response.json()
    except (requests.RequestException, ValueError) as error:
        raise IntrospectionFailed(f"no introspection answer from {url} ({error.__class__.__name__})") from error
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("data"):
        messages = [e.get("message", "") for e in body.get("errors", [])] if isinstance(body, dict) else []
        raise IntrospectionFailed(f"{url} answered HTTP {response.status_code}: {'; '.join(messages) or 'no schema'}")
    try:
        return build_client_schema(body["data"])
    except (TypeError, KeyError, ValueError) as error:
        raise IntrospectionFailed(f"{url} answered an unusable schema ({error})") from error


class _TypeDifferences(Visitor):
    """Fields and arguments an operation uses whose type in the live schema is not the SDL's."""

    def __init__(self, type_info: TypeInfo, live: GraphQLSchema):
        super().__init__()
        self.type_info, self.live, self.found = type_info, live, []

    def _live_field(self):
        parent, definition = self.type_info.get_parent_type(), self.type_info.get_field_def()
        live_parent = self.live.get_type(parent.name) if parent else None
        live_fields = getattr(live_parent, "fields", None) or {}
        return parent, definition, live_fields

    def enter_field(self, node: FieldNode, *_):
        parent, ours, live_fields = self._live_field()
        name = node.name.value
        if ours is not None and name in live_fields and str(ours.type) != str(live_fields[name].type):
            self.found.append(f"{parent.name}.{name} is {live_fields[name].type} in Clearfacts, {ours.type} in the SDL")

    def enter_argument(self, node: ArgumentNode, *_):
        ours = self.type_info.get_argument()
        parent, definition, live_fields = self._live_field()
        if ours is None or definition is None or definition.ast_node is None:
            return
        field_name = definition.ast_node.name.value
        live_argument = live_fields.get(field_name).args.get(node.name.value) if field_name in live_fields else None
        if live_argument is not None and str(live_argument.type) != str(ours.type):
            self.found.append(
                f"{parent.name}.{field_name}({node.name.value}:) is {live_argument.type} in Clearfacts, "
                f"{ours.type} in the SDL"
            )


@dataclass
class OperationDrift:
    operation: str
    assumed: bool  # asks for fields the documentation does not show; its refusal costs one feature
    problems: list[str] = field(default_factory=list)


def drift(live: GraphQLSchema, directory: Path = GRAPHQL_DIR / "operations") -> list[OperationDrift]:
    """One entry per shipped operation, with what does not fit the live schema."""
    report = []
    for path in sorted(directory.glob("*.graphql")):
        document = parse(path.read_text())
        name = next(d.name.value for d in document.definitions if getattr(d, "name", None))
        problems = list(dict.fromkeys(error.message for error in validate(live, document)))
        type_info = TypeInfo(SCHEMA)
        differences = _TypeDifferences(type_info, live)
        visit(document, TypeInfoVisitor(type_info, differences))
        problems += [p for p in dict.fromkeys(differences.found) if p not in problems]
        report.append(OperationDrift(name, name in ASSUMED_OPERATIONS, problems))
    return report
