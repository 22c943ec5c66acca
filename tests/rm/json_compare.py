"""Comparing canonical JSON as the RM sees it: ``_type`` implied by declared types, numbers by value."""

from __future__ import annotations

from typing import Any

from cdr.rm import RM_TYPES, RMObject, rm_field_map


def normalise(data: Any, declared: type[RMObject], *, drop_unknown: bool = False) -> Any:
    """``data`` as the writer should give it back: ``_type`` everywhere, no nulls, numbers as numbers.

    ``_type`` is added from the declared attribute type where the input leaves it implied; numbers sent as
    strings (accepted like EHRbase does) become numbers; with ``drop_unknown`` attributes the RM does not
    have are removed (what the lenient reader does).
    """
    cls = RM_TYPES[data["_type"]] if "_type" in data else declared
    fields = rm_field_map(cls)
    out: dict[str, Any] = {"_type": cls.rm_type}
    for key, value in data.items():
        if key == "_type" or value is None:
            continue
        field = fields.get(key)
        if field is None:
            assert drop_unknown, f"unexpected attribute {key} of {cls.rm_type}"
            continue
        if field.is_object:
            if field.is_list:
                out[key] = [normalise(v, field.target, drop_unknown=drop_unknown) for v in value]
            else:
                out[key] = normalise(value, field.target, drop_unknown=drop_unknown)
        elif field.target in (int, float) and isinstance(value, str):
            out[key] = float(value)
        else:
            out[key] = value
    return out


def assert_same_json(actual: Any, expected: Any, path: str = "") -> None:
    """Deep equality with key order ignored and numbers compared by value; names the first difference."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path or '/'}: expected an object, got {actual!r}"
        extra, missing = set(actual) - set(expected), set(expected) - set(actual)
        assert not extra and not missing, f"{path or '/'}: extra keys {extra}, missing keys {missing}"
        for key in expected:
            assert_same_json(actual[key], expected[key], f"{path}/{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected an array, got {actual!r}"
        assert len(actual) == len(expected), f"{path}: {len(actual)} items instead of {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same_json(a, e, f"{path}/{i}")
    elif isinstance(expected, bool) or isinstance(actual, bool):
        assert actual is expected, f"{path}: {actual!r} != {expected!r}"
    elif isinstance(expected, int | float):
        assert isinstance(actual, int | float) and actual == expected, f"{path}: {actual!r} != {expected!r}"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
