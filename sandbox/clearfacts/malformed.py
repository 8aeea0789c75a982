"""Malformed GraphQL answers on demand, for testing over real HTTP how the portal checks answers.

`plan("associates", "null")` makes the next answer that carries the root field `associates` (under
any alias) carry it broken in that way:

- `null`: the field is null (with no error), as a nullable schema allows;
- `missing`: the field is left out of `data`;
- `wrong_types`: every string in it becomes a number, every number a string, every boolean a string;
- `not_a_list`: a list becomes an object and an object a list;
- `missing_fields`: every object in it loses all its fields;
- `extra_fields`: every object in it gains fields nobody asked for.

Plans live in the cache (shared by the web and worker processes) and are used up one answer each.
"""

from django.core.cache import cache

KINDS = ("null", "missing", "wrong_types", "not_a_list", "missing_fields", "extra_fields")
CACHE_KEY = "sandbox:clearfacts:malformed-answers"


def plan(field: str, kind: str, *, count: int = 1) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown malformation {kind!r}; one of {', '.join(KINDS)}")
    plans = cache.get(CACHE_KEY, [])
    plans.append({"field": field, "kind": kind, "remaining": count})
    cache.set(CACHE_KEY, plans, None)


def clear() -> None:
    cache.delete(CACHE_KEY)


def _take(field: str) -> str | None:
    plans = cache.get(CACHE_KEY, [])
    for planned in plans:
        if planned["field"] == field and planned["remaining"] > 0:
            planned["remaining"] -= 1
            cache.set(CACHE_KEY, [p for p in plans if p["remaining"] > 0], None)
            return planned["kind"]
    return None


def _wrong_types(value):
    if isinstance(value, dict):
        return {key: _wrong_types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wrong_types(item) for item in value]
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return 12345
    return value


def _objects(value, change):
    if isinstance(value, dict):
        return change({key: _objects(item, change) for key, item in value.items()})
    if isinstance(value, list):
        return [_objects(item, change) for item in value]
    return value


def _broken(value, kind: str):
    if kind == "null":
        return None
    if kind == "wrong_types":
        return _wrong_types(value)
    if kind == "not_a_list":
        return {"items": value} if isinstance(value, list) else [value]
    if kind == "missing_fields":
        return _objects(value, lambda obj: {})
    return _objects(value, lambda obj: obj | {"internalRef": 42, "unexpected": {"nested": True}})


def apply(data: dict | None, root_fields: dict[str, str]) -> dict | None:
    """`data` with the planned malformations; `root_fields` maps each response key to its field."""
    if not data:
        return data
    for key, field in root_fields.items():
        kind = _take(field) if key in data else None
        if kind == "missing":
            del data[key]
        elif kind:
            data[key] = _broken(data[key], kind)
    return data
