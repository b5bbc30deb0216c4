"""From a `ToolCall` to a Python call: tool lookup, argument decoding and binding, invocation.

Everything that can be refused is refused in `prepare()`, before any user code runs, as a
`ToolCallError` (invalid_parameter / unknown_tool). `invoke()` then runs the tool: coroutine
functions are awaited on the event loop (so cancelling the RPC really stops them), sync functions
run in the executor so a long call never starves pings, and generator functions are only created
(their bodies run later, item by item, in `snakepit_bridge.streaming`).
"""

from __future__ import annotations

import functools
import inspect
import json
from concurrent.futures import Executor
from typing import AbstractSet, Any, Callable, Dict, FrozenSet, List, Mapping, NoReturn, Optional, Tuple

from snakepit.bridge.v1 import common_pb2

from ..session_context import SessionContext
from .errors import ToolCallError, invalid_parameter, unknown_tool
from .registry import CONTEXT_PARAMETER, ToolEntry, discover_tools
from .schema import complete_document, encode_document
from .thread_safety import ThreadSafetyMonitor, declares_thread_safe
from .threads import run_in_thread

__all__ = ["Dispatcher", "PreparedCall", "PLAIN_RESULTS", "decode_arguments", "spec_to_proto"]

# How a prepared callable must be run.
SYNC = "sync"
ASYNC = "async"
SYNC_GENERATOR = "sync_generator"
ASYNC_GENERATOR = "async_generator"

_EMPTY = inspect.Parameter.empty
_NAMED_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


# Result types that are certainly neither awaitables nor iterators: the checks for those are
# skipped for them (they are most results).
PLAIN_RESULTS = frozenset((dict, list, tuple, str, int, float, bool, type(None), bytes, bytearray))


def _style_of(function: Callable[..., Any]) -> str:
    if inspect.iscoroutinefunction(function):
        return ASYNC
    if inspect.isasyncgenfunction(function):
        return ASYNC_GENERATOR
    if inspect.isgeneratorfunction(function):
        return SYNC_GENERATOR
    return SYNC


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


# NaN/Infinity are Python extensions, not JSON; Node never sends them. One decoder for every call:
# json.loads with any keyword argument builds a new JSONDecoder each time.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# The decoder's scanner (C): a document with no surrounding whitespace (what Node sends) parses in
# one call. Anything else (whitespace, errors) goes through decode() for its exact messages.
# (Set by JSONDecoder.__init__; typeshed does not declare it.)
_SCAN: Callable[[str, int], Tuple[Any, int]] = getattr(_DECODER, "scan_once")
_BOM = "\ufeff"


def _decode_json(key: str, raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_parameter(key, f"not valid UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        value, end = _SCAN(text, 0)
        if end == len(text):
            return value
    except (StopIteration, ValueError):
        pass
    except RecursionError:
        raise invalid_parameter(key, "JSON nested too deeply") from None
    try:
        if text.startswith(_BOM):  # what json.loads refuses before decoding
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _DECODER.decode(text)
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise invalid_parameter(key, f"invalid JSON: {exc}") from None
    except RecursionError:
        raise invalid_parameter(key, "JSON nested too deeply") from None


def decode_arguments(call: common_pb2.ToolCall) -> Dict[str, Any]:
    """Every parameter decoded up front: JSON documents parsed, binary values as bytes."""
    arguments: Dict[str, Any] = {}
    parameters = call.json_parameters
    binary = call.binary_parameters
    # Keys and lookups rather than .items(): protobuf maps get items() from the Mapping mixin,
    # a Python generator.
    for key in parameters:
        if key in binary:
            raise invalid_parameter(key, "present in both json_parameters and binary_parameters")
        arguments[key] = _decode_json(key, parameters[key])
    for key in binary:
        arguments[key] = bytes(binary[key])
    return arguments


class _Binding:
    """Signature.bind's verdict for keyword-only calls, precomputed once per tool.

    `accepts()` is True only where bind would succeed: every required parameter present, and no
    unknown name unless the tool takes **kwargs. Anything else goes through bind itself, so
    refusals and their messages stay bind's. Tools with positional-only parameters get no plan
    (bind's rules for them differ between Python versions).
    """

    __slots__ = ("named", "required", "any_keyword")

    def __init__(self, named: FrozenSet[str], required: FrozenSet[str], any_keyword: bool) -> None:
        self.named = named
        self.required = required
        self.any_keyword = any_keyword

    @classmethod
    def of(cls, signature: inspect.Signature) -> Optional["_Binding"]:
        parameters = signature.parameters.values()
        if any(p.kind is inspect.Parameter.POSITIONAL_ONLY for p in parameters):
            return None
        named = frozenset(p.name for p in parameters if p.kind in _NAMED_KINDS)
        required = frozenset(p.name for p in parameters if p.kind in _NAMED_KINDS and p.default is _EMPTY)
        return cls(named, required, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters))

    def accepts(self, names: AbstractSet[str]) -> bool:
        return names >= self.required and (self.any_keyword or names <= self.named)


def _binding_error(entry: ToolEntry, kwargs: Mapping[str, Any], exc: TypeError) -> ToolCallError:
    """Names the offending parameter; Signature.bind's own message does not always do so."""
    parameters = entry.signature.parameters
    for key in kwargs:
        parameter = parameters.get(key)
        if parameter is None and not entry.accepts_any_keyword:
            return invalid_parameter(key, "unexpected parameter")
        if parameter is not None and parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            return invalid_parameter(key, "positional-only parameter cannot be passed by name")
    for parameter in parameters.values():
        if parameter.default is _EMPTY and parameter.name not in kwargs and parameter.kind in _NAMED_KINDS:
            return invalid_parameter(parameter.name, "missing required parameter")
        if parameter.default is _EMPTY and parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            return invalid_parameter(parameter.name, "positional-only parameter cannot be passed by name")
    return invalid_parameter("", str(exc))


def spec_to_proto(spec: Mapping[str, Any]) -> common_pb2.ToolSpec:
    """A spec dict (as returned by `BaseAdapter.get_tools()`) as a `ToolSpec` message.

    `parameters_json` is always a JSON Schema document (tools/schema.py): a spec without a mapping
    in `parameters` (legacy `execute_tool` tools, Snakepit's parameter lists) is described as
    untyped.
    """
    streaming = bool(spec.get("supports_streaming", False))
    return common_pb2.ToolSpec(
        name=str(spec.get("name", "")),
        description=str(spec.get("description") or ""),
        supports_streaming=streaming,
        parameters_json=encode_document(complete_document(spec.get("parameters"), streaming), streaming),
        metadata={str(k): str(v) for k, v in (spec.get("metadata") or {}).items()},
    )


class PreparedCall:
    """A validated call: the tool and a zero-argument callable that runs it."""

    __slots__ = ("tool_name", "style", "thunk")

    def __init__(self, tool_name: str, style: str, thunk: Callable[[], Any]) -> None:
        self.tool_name = tool_name
        self.style = style
        self.thunk = thunk


class Dispatcher:
    """Finds and runs the tools of one adapter instance.

    The executor is injected so the same dispatcher serves process mode (one call at a time) and
    threaded mode (many calls sharing a larger executor). With a `monitor` (--thread-safety-checks),
    sync tools not marked thread-safe are watched for concurrent entry.
    """

    def __init__(self, adapter: object, executor: Executor, *, monitor: Optional[ThreadSafetyMonitor] = None) -> None:
        self._adapter = adapter
        self._executor = executor
        self._monitor = monitor
        discovered = getattr(adapter, "_discovered_tools", None)
        self._tools: Dict[str, ToolEntry] = discovered() if callable(discovered) else discover_tools(adapter)
        self._styles = {name: _style_of(entry.function) for name, entry in self._tools.items()}
        # inspect.Signature.bind costs more than the rest of prepare(); see _Binding.
        self._bindings = {name: _Binding.of(entry.signature) for name, entry in self._tools.items()}
        legacy = getattr(adapter, "execute_tool", None)
        # Snakepit's legacy dispatcher: receives every name that is not a decorated tool.
        self._legacy: Optional[Callable[..., Any]] = (
            legacy if callable(legacy) and "execute_tool" not in self._tools else None
        )
        self._legacy_style = _style_of(self._legacy) if self._legacy is not None else SYNC

    @property
    def tool_names(self) -> List[str]:
        return sorted(self._tools)

    @property
    def executor(self) -> Executor:
        return self._executor

    def describe(self) -> List[common_pb2.ToolSpec]:
        """The adapter's `get_tools()` when it has one (so overrides can add legacy tools)."""
        get_tools = getattr(self._adapter, "get_tools", None)
        specs = get_tools() if callable(get_tools) else [entry.spec() for entry in self._tools.values()]
        return [spec_to_proto(spec) for spec in specs if isinstance(spec, Mapping)]

    def prepare(self, call: common_pb2.ToolCall, session: SessionContext) -> PreparedCall:
        """Validates the call completely; raises ToolCallError when it must be refused."""
        name = call.tool_name
        entry = self._tools.get(name)
        if entry is None:
            legacy = self._legacy
            if legacy is None:
                raise unknown_tool(name, self._tools)
            thunk = functools.partial(legacy, name, decode_arguments(call), session)
            return self._watched(name, self._legacy_style, thunk, declares_thread_safe(legacy))
        arguments = decode_arguments(call)
        if entry.takes_context:
            if CONTEXT_PARAMETER in arguments:
                raise invalid_parameter(CONTEXT_PARAMETER, "reserved for the session context of the call")
            arguments[CONTEXT_PARAMETER] = session
        binding = self._bindings[name]
        if binding is None or not binding.accepts(arguments.keys()):
            try:
                entry.signature.bind(**arguments)
            except TypeError as exc:
                raise _binding_error(entry, arguments, exc) from None
        return self._watched(name, self._styles[name], functools.partial(entry.function, **arguments), entry.thread_safe)

    def _watched(self, name: str, style: str, thunk: Callable[[], Any], thread_safe: bool) -> PreparedCall:
        monitor = self._monitor
        if monitor is not None and not thread_safe:
            if style == SYNC:
                thunk = monitor.guard_call(name, thunk)
            elif style == SYNC_GENERATOR:
                thunk = monitor.guard_stream(name, thunk)
        return PreparedCall(name, style, thunk)

    def after_call(self) -> None:
        """Called when a call ends: the moment to notice imports a tool just made."""
        if self._monitor is not None:
            self._monitor.check_imports()

    async def invoke(self, prepared: PreparedCall) -> Any:
        """Runs the tool. The result may be a value, or a sync/async iterator for the caller to drain."""
        style = prepared.style
        if style == ASYNC:
            result = await prepared.thunk()
        elif style == SYNC:
            result = await run_in_thread(self._executor, prepared.thunk)
        else:
            # Creating a generator runs none of its body; streaming drives it item by item.
            return prepared.thunk()
        # A sync function may hand back an awaitable (wrapped coroutine functions, legacy adapters).
        if type(result) not in PLAIN_RESULTS and inspect.isawaitable(result):
            result = await result
        return result

    async def run_sync(self, function: Callable[..., Any], *args: Any) -> Any:
        """Runs a sync callable in the executor, inside a copy of the caller's context (session and
        correlation id stay visible to the tool and to its log lines)."""
        return await run_in_thread(self._executor, function, *args)
