"""Checking Clearfacts' answers before anything uses them.

An answer is read against the operation that asked for it and the contract's SDL: every field the
operation selected must be there with the type the SDL gives it (a non-null field not null, a list
a list, an Int an int, an enum one of its values), and a root field must not be null. What the
operation did not ask for is dropped, so nothing unexpected reaches the pages or the database.
A few answers also have a documented shape the types cannot say (a statistics period is MM/YYYY).
Anything else is ClearfactsAnswerInvalid: Clearfacts could not say, and the caller keeps what it had.
"""

import re
from collections.abc import Callable

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)


class AnswerInvalid(Exception):
    """The answer does not have the shape the operation and the contract promise; `path` says where."""

    def __init__(self, path: list, problem: str):
        self.path = ".".join(str(part) for part in path) or "data"
        super().__init__(f"{self.path}: {problem}")


SCALAR_TYPES = {
    "String": (str,),
    "ID": (str, int),
    "Int": (int,),
    "Float": (int, float),
    "Boolean": (bool,),
    "Date": (str,),
}


def _scalar(type_: GraphQLScalarType, value, path):
    expected = SCALAR_TYPES.get(type_.name, (str,))
    if isinstance(value, bool) and bool not in expected or not isinstance(value, expected):
        raise AnswerInvalid(path, f"expected {type_.name}, got {type(value).__name__}")
    return str(value) if type_.name == "ID" else value


def _fields(schema: GraphQLSchema, parent, selection_set: SelectionSetNode, optional=False):
    """(field node, the type declaring it, optional) for a selection set; fields of a fragment on
    another type than the parent are optional: the answer's object may be of another kind."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection, parent, optional
        elif isinstance(selection, InlineFragmentNode):
            on = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
            yield from _fields(schema, on, selection.selection_set, optional or on is not parent)


def _object(schema, type_, selection_set, value, path) -> dict:
    if not isinstance(value, dict):
        raise AnswerInvalid(path, f"expected an object, got {type(value).__name__}")
    checked = {}
    for field, declaring_type, optional in _fields(schema, type_, selection_set):
        key = (field.alias or field.name).value
        if field.name.value == "__typename":
            checked[key] = _scalar(schema.get_type("String"), value.get(key), [*path, key])
            continue
        if key not in value:
            if optional:
                continue
            raise AnswerInvalid([*path, key], "missing")
        field_type = declaring_type.fields[field.name.value].type
        checked[key] = _value(schema, field_type, field.selection_set, value[key], [*path, key])
    return checked


def _value(schema, type_, selection_set, value, path):
    if isinstance(type_, GraphQLNonNull):
        if value is None:
            raise AnswerInvalid(path, "null where the contract promises a value")
        return _value(schema, type_.of_type, selection_set, value, path)
    if value is None:
        return None
    if isinstance(type_, GraphQLList):
        if not isinstance(value, list):
            raise AnswerInvalid(path, f"expected a list, got {type(value).__name__}")
        return [_value(schema, type_.of_type, selection_set, item, [*path, i]) for i, item in enumerate(value)]
    if isinstance(type_, GraphQLEnumType):
        if not isinstance(value, str) or value not in type_.values:
            raise AnswerInvalid(path, f"not a {type_.name}")
        return value
    if isinstance(type_, GraphQLScalarType):
        return _scalar(type_, value, path)
    return _object(schema, type_, selection_set, value, path)


def _operation(document: DocumentNode, name: str) -> OperationDefinitionNode:
    return next(
        d for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name and d.name.value == name
    )


COMPANY_NUMBER = re.compile(r"^\D{0,4}[0-9][0-9 .]{8,14}$")
PERIOD = re.compile(r"^(0[1-9]|1[0-2])/[0-9]{4}$")


def _company_numbers(*paths: str) -> Callable[[dict], None]:
    def check(data: dict) -> None:
        for path in paths:
            root, _, field = path.partition(".")
            nodes = data[root] if isinstance(data[root], list) else [data[root]]
            for i, node in enumerate(nodes):
                if not COMPANY_NUMBER.match(node[field]):
                    raise AnswerInvalid([root, i, field], "not a company number")

    return check


def _statistics_periods(data: dict) -> None:
    for kind, entries in data.items():
        for i, entry in enumerate(entries):
            for j, item in enumerate(entry["items"]):
                if not PERIOD.match(item["period"]):
                    raise AnswerInvalid([kind, i, "items", j, "period"], "not MM/YYYY")


# What the types cannot say, per operation.
SHAPE_CHECKS: dict[str, Callable[[dict], None]] = {
    "Accountant": _company_numbers("accountant.companyNumber"),
    "Administrations": _company_numbers("administrations.companyNumber"),
    "Statistics": _statistics_periods,
}


def checked(schema: GraphQLSchema, document: DocumentNode, operation: str, data) -> dict:
    """`data` as `operation` asked for it, without anything else; raises AnswerInvalid."""
    definition = _operation(document, operation)
    root = schema.mutation_type if definition.operation == OperationType.MUTATION else schema.query_type
    if not isinstance(data, dict):
        raise AnswerInvalid([], "no data")
    for field in definition.selection_set.selections:
        key = (field.alias or field.name).value
        if data.get(key) is None:
            raise AnswerInvalid([key], "null or missing: Clearfacts did not say")
    result = _object(schema, root, definition.selection_set, data, [])
    if operation in SHAPE_CHECKS:
        SHAPE_CHECKS[operation](result)
    return result
