"""Values going to the host (host tool arguments, session state) and coming back.

Outgoing values are strict: plain JSON (dict with str keys, list, tuple, str, int, finite float,
bool, None), or bytes-likes at the top level of a host tool argument, sent raw. Anything else is
refused before anything is sent, naming the key — unlike tool *results*, which are converted
leniently (see `snakepit_bridge.encoding`), because a silently mangled argument is a bug at a
distance on the Node side. Ints stay ints both ways.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Tuple

from snakepit.bridge.v1 import common_pb2

from ..type_names import qualified_type_name
from .errors import InvalidParameterError

__all__ = ["encode_json_value", "encode_arguments", "decode_tool_value", "decode_json", "spec_to_dict"]

_BINARY_TYPES = (bytes, bytearray, memoryview)


def _refuse(key: str, reason: str) -> InvalidParameterError:
    return InvalidParameterError(f"invalid parameter {key!r}: {reason}", details={"key": key, "reason": reason})


def encode_json_value(key: str, value: Any) -> bytes:
    """One compact UTF-8 JSON document, or InvalidParameterError naming `key`."""

    def refuse_type(item: Any) -> Any:
        if isinstance(item, _BINARY_TYPES):
            raise _refuse(key, "bytes are only sent raw as a top-level host tool argument, not inside JSON")
        raise _refuse(key, f"a {qualified_type_name(type(item))} is not JSON; pass dicts, lists, str, int, float, bool or None")

    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False, default=refuse_type)
    except InvalidParameterError:
        raise
    except ValueError as exc:  # NaN/Infinity, or a circular reference
        reason = "NaN and Infinity are not JSON" if "Out of range float" in str(exc) else str(exc)
        raise _refuse(key, reason) from None
    except TypeError as exc:  # a dict key that is not a JSON scalar
        raise _refuse(key, str(exc)) from None
    except RecursionError:
        raise _refuse(key, "nested too deeply") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates have no UTF-8 form; \u escapes keep them and JSON.parse accepts them.
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")


def encode_arguments(arguments: Mapping[str, Any]) -> Tuple[Dict[str, bytes], Dict[str, bytes]]:
    """(json_parameters, binary_parameters) of a ToolCall: bytes-likes raw, the rest JSON."""
    json_parameters: Dict[str, bytes] = {}
    binary_parameters: Dict[str, bytes] = {}
    for key, value in arguments.items():
        if isinstance(value, (bytes, bytearray)):
            binary_parameters[key] = bytes(value)
        elif isinstance(value, memoryview):
            binary_parameters[key] = value.tobytes()
        else:
            json_parameters[key] = encode_json_value(key, value)
    return json_parameters, binary_parameters


def decode_json(raw: bytes, what: str) -> Any:
    """A JSON document from the host; a malformed one is the host's bug, reported as such."""
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise InvalidParameterError(f"the host sent invalid JSON for {what}: {exc}", details={"key": what}) from None


def decode_tool_value(value: common_pb2.ToolValue, what: str) -> Any:
    """A host tool result: bytes for binary, the parsed JSON otherwise, None when unset."""
    kind = value.WhichOneof("kind")
    if kind == "binary":
        return bytes(value.binary)
    if kind == "json":
        return decode_json(value.json, what)
    return None


def spec_to_dict(spec: common_pb2.ToolSpec) -> Dict[str, Any]:
    """A host tool's spec as Python sees it in `list_host_tools()`."""
    parameters: Any = None
    if spec.parameters_json:
        try:
            parameters = json.loads(spec.parameters_json.decode("utf-8"))
        except ValueError:
            parameters = None  # a description only; a malformed one must not break listing
    return {
        "name": spec.name,
        "description": spec.description,
        "parameters": parameters,
        "metadata": dict(spec.metadata),
    }


def specs_to_dicts(specs: List[common_pb2.ToolSpec]) -> List[Dict[str, Any]]:
    return [spec_to_dict(spec) for spec in specs]
