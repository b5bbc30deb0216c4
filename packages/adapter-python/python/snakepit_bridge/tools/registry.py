"""The `@tool` decorator and discovery of an adapter's tools.

Discovery happens once per worker: decorated methods are found on the adapter's class, bound to
the one adapter instance, and their signatures are computed up front (inspect.signature is too
slow for the per-call path).
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, TypeVar, Union, overload

__all__ = ["tool", "ToolMeta", "ToolEntry", "discover_tools", "CONTEXT_PARAMETER"]

# A tool parameter with this name receives the call's SessionContext instead of an argument.
CONTEXT_PARAMETER = "context"

_META_ATTRIBUTE = "_snakepit_tool"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ToolMeta:
    """What `@tool` records on a method."""

    name: Optional[str] = None
    description: str = ""
    supports_streaming: bool = False
    # Overrides the parameter description derived from the signature when given.
    parameters: Optional[Any] = None
    # Snakepit compatibility: accepted and reported in the spec's metadata.
    required_variables: List[str] = field(default_factory=list)
    # May run on several threads at once (threaded mode); only --thread-safety-checks reads it.
    thread_safe: bool = False


@overload
def tool(func: F, /) -> F: ...


@overload
def tool(
    description: str = "",
    supports_streaming: bool = False,
    parameters: Optional[Any] = None,
    name: Optional[str] = None,
    required_variables: Optional[List[str]] = None,
    thread_safe: bool = False,
) -> Callable[[F], F]: ...


def tool(
    description: Union[str, F] = "",
    supports_streaming: bool = False,
    parameters: Optional[Any] = None,
    name: Optional[str] = None,
    required_variables: Optional[List[str]] = None,
    thread_safe: bool = False,
) -> Union[F, Callable[[F], F]]:
    """Marks an adapter method as a tool. Works bare (`@tool`) and called (`@tool(...)`).

    The description defaults to the method's docstring; the name to the method's name.
    `thread_safe=True` says the tool may run on several threads at once (threaded mode).
    """
    if callable(description):
        return tool()(description)
    summary = description if isinstance(description, str) else ""

    def decorate(func: F) -> F:
        doc = inspect.getdoc(func) or ""
        meta = ToolMeta(
            name=name,
            description=summary or doc,
            supports_streaming=supports_streaming,
            parameters=parameters,
            required_variables=list(required_variables or []),
            thread_safe=thread_safe,
        )
        setattr(func, _META_ATTRIBUTE, meta)
        return func

    return decorate


@dataclass(frozen=True)
class ToolEntry:
    """One discovered tool, bound to the adapter instance."""

    name: str
    description: str
    supports_streaming: bool
    function: Callable[..., Any]
    signature: inspect.Signature
    takes_context: bool
    accepts_any_keyword: bool
    parameters: Any
    metadata: Dict[str, str]
    thread_safe: bool = False

    def spec(self) -> Dict[str, Any]:
        """The JSON-able description returned by `BaseAdapter.get_tools()` and DescribeTools."""
        return {
            "name": self.name,
            "description": self.description,
            "supports_streaming": self.supports_streaming,
            "parameters": self.parameters,
            "metadata": dict(self.metadata),
        }


def _annotation_text(annotation: object) -> Optional[str]:
    if annotation is inspect.Parameter.empty:
        return None
    if isinstance(annotation, str):  # `from __future__ import annotations`
        return annotation
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _json_default(value: object) -> object:
    """A default value as JSON, or a private sentinel when it has no faithful JSON form."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return _NO_DEFAULT
    return value


_NO_DEFAULT = object()


def describe_parameters(signature: inspect.Signature) -> List[Dict[str, Any]]:
    """[{"name", "required", "annotation", "default"?, "variadic"?}] derived from a signature.

    `context` (injected) and *args (cannot be passed by name) are left out; **kwargs appears once
    with "variadic": true.
    """
    described: List[Dict[str, Any]] = []
    for parameter in signature.parameters.values():
        if parameter.name == CONTEXT_PARAMETER or parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        entry: Dict[str, Any] = {
            "name": parameter.name,
            "required": parameter.default is inspect.Parameter.empty
            and parameter.kind is not inspect.Parameter.VAR_KEYWORD,
            "annotation": _annotation_text(parameter.annotation),
        }
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            entry["variadic"] = True
        elif parameter.default is not inspect.Parameter.empty:
            default = _json_default(parameter.default)
            if default is not _NO_DEFAULT:
                entry["default"] = default
        described.append(entry)
    return described


def _tool_meta(attribute: object) -> Optional[ToolMeta]:
    # staticmethod/classmethod objects keep the decorated function in __func__.
    target = getattr(attribute, "__func__", attribute)
    meta = getattr(target, _META_ATTRIBUTE, None)
    return meta if isinstance(meta, ToolMeta) else None


def discover_tools(adapter: object) -> Dict[str, ToolEntry]:
    """All `@tool` methods of the adapter, by tool name. Duplicate names are a startup error."""
    entries: Dict[str, ToolEntry] = {}
    cls = type(adapter)
    for attribute_name in dir(cls):
        # getattr_static: looking tools up must not run properties or descriptors.
        meta = _tool_meta(inspect.getattr_static(cls, attribute_name, None))
        if meta is None:
            continue
        function = getattr(adapter, attribute_name)
        signature = inspect.signature(function)
        name = meta.name or attribute_name
        if name in entries:
            raise ValueError(f"two tools are named {name!r} on {cls.__qualname__}")
        streaming = (
            meta.supports_streaming or inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)
        )
        metadata = {"required_variables": ",".join(meta.required_variables)} if meta.required_variables else {}
        # @thread_safe_method (Snakepit's marker) counts like @tool(thread_safe=True).
        thread_safe = meta.thread_safe or getattr(function, "__thread_safe__", False) is True
        if thread_safe:
            metadata["thread_safe"] = "true"
        entries[name] = ToolEntry(
            name=name,
            description=meta.description,
            supports_streaming=streaming,
            function=function,
            signature=signature,
            takes_context=CONTEXT_PARAMETER in signature.parameters,
            accepts_any_keyword=any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()
            ),
            parameters=meta.parameters if meta.parameters is not None else describe_parameters(signature),
            metadata=metadata,
            thread_safe=thread_safe,
        )
    return entries
