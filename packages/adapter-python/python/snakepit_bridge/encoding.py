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
from typing import Any, Callable, Dict, Optional

from snakepit.bridge.v1 import common_pb2

from .type_names import qualified_type_name

__all__ = ["UNSERIALIZABLE_MARKER", "encode_json", "encode_into", "encode_value", "to_json_tree", "qualified_type_name"]

UNSERIALIZABLE_MARKER = "__snakepit_unserializable__"

_BINARY_TYPES = (bytes, bytearray, memoryview)


def _marker(value: Any) -> Dict[str, object]:
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


# Values that are already final JSON; checked inline in containers to save a call per item.
# (float is not among them: NaN and infinities become null.)
_FINAL = frozenset((str, int, bool, type(None)))


def _walk(value: Any) -> Any:
    # Exact type checks first: they are the overwhelmingly common case and the cheapest test.
    kind = type(value)
    if kind in _FINAL:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {
            (k if type(k) is str else _key(k)): (v if type(v) in _FINAL else _walk(v)) for k, v in value.items()
        }
    if kind is list:
        return [item if type(item) in _FINAL else _walk(item) for item in value]
    return _walk(_convert(value))


def to_json_tree(value: Any) -> Any:
    """Converts a value into plain dicts, lists, str, int, float, bool and None."""
    try:
        return _walk(value)
    except RecursionError:
        # json.dumps would report either case as a ValueError too.
        raise ValueError("result is nested too deeply or contains a circular reference") from None


# check_circular=False: the walk has built a fresh tree, which cannot contain cycles.
# Built once: json.dumps with any option builds a new encoder per call. encode() keeps no state,
# so sharing them between threads is safe.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, check_circular=False, ensure_ascii=False)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, check_circular=False)


def _c_encoder(public: json.JSONEncoder, escape: Optional[Callable[[str], str]]) -> Callable[[Any], str]:
    """`public.encode` without its per-call Python layers (it builds a new C encoder every call).

    `json.encoder.c_make_encoder` is CPython's accelerator behind json.dumps, not a documented API:
    it is used only when present and when it encodes a probe exactly like `public` does.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None or escape is None:
        return public.encode
    try:
        # markers=None: no cycle check (the walked tree has none); the default is never reached
        # for a walked tree, and refuses like JSONEncoder.default otherwise.
        encoder = make(None, public.default, escape, None, ":", ",", False, False, False)

        def encode(tree: Any) -> str:
            return "".join(encoder(tree, 0))

        probe = {"a": [1, 2.5, -0.0, True, None, "é\n\ud800"], "": {"b": 10**20}}
        if encode(probe) == public.encode(probe) and encode("x") == public.encode("x"):
            return encode
    except Exception:
        pass
    return public.encode


_dump = _c_encoder(_ENCODER, getattr(json.encoder, "c_encode_basestring", None))
_dump_ascii = _c_encoder(_ASCII_ENCODER, getattr(json.encoder, "c_encode_basestring_ascii", None))

# Flat dicts and lists of these (with str keys) are plain JSON already: the walk would only copy
# them. Non-finite floats are the exception, and the encoder refuses them (then the walk runs).
_SCALARS = frozenset((str, int, float, bool, type(None)))
_STR = frozenset((str,))


def _plain_tree(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        # map(type, ...) and issuperset run in C: much cheaper than walking and copying.
        return _STR.issuperset(map(type, value)) and _SCALARS.issuperset(map(type, value.values()))
    return kind is list and _SCALARS.issuperset(map(type, value))


def encode_json(value: Any) -> bytes:
    """One compact UTF-8 JSON document for `value` (see the module docstring for the rules)."""
    tree = None
    if _plain_tree(value):
        try:
            tree, text = value, _dump(value)
        except ValueError:  # NaN or infinity: the walk turns them into null
            tree = None
    if tree is None:
        tree = to_json_tree(value)
        text = _dump(tree)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (e.g. from surrogateescape-decoded file names) have no UTF-8 form;
        # \u escapes keep them, and JSON.parse accepts them.
        return _dump_ascii(tree).encode("ascii")


def encode_into(message: common_pb2.ToolValue, value: Any) -> None:
    """Fills `message` (a ToolValue, usually a field of a response) with `value`: raw bytes for
    bytes-likes, JSON otherwise. Filling the field in place spares building a ToolValue that the
    response constructor would then copy."""
    if isinstance(value, (bytes, bytearray)):
        message.binary = bytes(value)
    elif isinstance(value, memoryview):
        message.binary = value.tobytes()
    else:
        message.json = encode_json(value)


def encode_value(value: Any) -> common_pb2.ToolValue:
    """A tool result or stream item as a `ToolValue`: raw bytes for bytes-likes, JSON otherwise."""
    message = common_pb2.ToolValue()
    encode_into(message, value)
    return message
