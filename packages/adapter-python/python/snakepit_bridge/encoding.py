"""Encoding of tool results and stream chunks into `ToolValue`s.

Top-level bytes travel raw (`ToolValue.binary`, never base64). Everything else becomes one compact
UTF-8 JSON document (`ToolValue.json`). Values JSON cannot hold are converted with known rules;
what has no known rule becomes a marker object naming only its type, never its repr (a repr can
leak secrets):

    {"__snakepit_unserializable__": true, "type": "module.ClassName"}

Non-finite floats become null. Ints stay ints.

The value is first walked into a plain JSON tree and then handed to json.dumps. The walk is needed
because json.dumps writes tuple subclasses (namedtuples) as lists without consulting `default`,
and because NaN has to become null rather than fail the call.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import math
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from snakepit.bridge.v1 import common_pb2

from .type_names import qualified_type_name

__all__ = ["UNSERIALIZABLE_MARKER", "encode_json", "encode_value", "to_json_tree", "qualified_type_name"]

UNSERIALIZABLE_MARKER = "__snakepit_unserializable__"

_BINARY_TYPES = (bytes, bytearray, memoryview)


def _marker(value: Any) -> dict:
    return {UNSERIALIZABLE_MARKER: True, "type": qualified_type_name(type(value))}


def _convert(value: Any) -> Any:
    """One conversion step towards JSON for a value that is not a plain JSON type.

    The result is walked again, so a conversion may return containers holding anything.
    Order matters: Enum before int/str (IntEnum, StrEnum), subclasses of basic types before
    the duck-typed rules.
    """
    if isinstance(value, enum.Enum):
        return value.value
    # Subclasses of the basic types become the exact type, without calling their (maybe
    # overridden) __str__/__int__.
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, _BINARY_TYPES):
        # Bytes are only raw at the top level; nested, they would need an ambiguous base64 string.
        return _marker(value)
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return dict(value._asdict())
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        try:
            return sorted(value)
        except TypeError:
            # Mixed types cannot be ordered; keep iteration order.
            return list(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Shallow on purpose: dataclasses.asdict deep-copies every field, which fails on
        # uncopyable members; the walk recurses into nested dataclasses anyway.
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    # Duck-typed rules, for libraries we must not import (numpy, pandas scalars, pydantic, ...).
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump()
    legacy_dict = getattr(value, "dict", None)
    if callable(legacy_dict) and hasattr(type(value), "__fields__"):
        return legacy_dict()  # pydantic v1
    return _marker(value)


_KEY_TYPES = (str, int, float, bool, type(None))


def _key(key: Any) -> Any:
    """Dict keys: JSON scalars pass (json.dumps stringifies them); others get one conversion."""
    if isinstance(key, _KEY_TYPES) and not isinstance(key, enum.Enum):
        return key
    converted = _convert(key)
    if isinstance(converted, _KEY_TYPES):
        return converted
    raise TypeError(f"dict key of type {qualified_type_name(type(key))} cannot be a JSON object key")


def _walk(value: Any) -> Any:
    # Exact type checks first: they are the overwhelmingly common case and the cheapest test.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {(k if type(k) is str else _key(k)): _walk(v) for k, v in value.items()}
    if kind is list:
        return [_walk(item) for item in value]
    return _walk(_convert(value))


def to_json_tree(value: Any) -> Any:
    """Converts a value into plain dicts, lists, str, int, float, bool and None."""
    try:
        return _walk(value)
    except RecursionError:
        # json.dumps would report either case as a ValueError too.
        raise ValueError("result is nested too deeply or contains a circular reference") from None


def encode_json(value: Any) -> bytes:
    """One compact UTF-8 JSON document for `value` (see the module docstring for the rules)."""
    tree = to_json_tree(value)
    # check_circular=False: the walk has built a fresh tree, which cannot contain cycles.
    text = json.dumps(tree, separators=(",", ":"), allow_nan=False, check_circular=False, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (e.g. from surrogateescape-decoded file names) have no UTF-8 form;
        # \u escapes keep them, and JSON.parse accepts them.
        return json.dumps(tree, separators=(",", ":"), allow_nan=False, check_circular=False).encode("ascii")


def encode_value(value: Any) -> common_pb2.ToolValue:
    """A tool result or stream item as a `ToolValue`: raw bytes for bytes-likes, JSON otherwise."""
    if isinstance(value, (bytes, bytearray)):
        return common_pb2.ToolValue(binary=bytes(value))
    if isinstance(value, memoryview):
        return common_pb2.ToolValue(binary=value.tobytes())
    return common_pb2.ToolValue(json=encode_json(value))
