"""The `@tool` decorator and discovery of an adapter's tools.

Discovery happens once per worker: decorated methods are found on the adapter's class, bound to
the one adapter instance, and their signatures are computed up front (inspect.signature is too
slow for the per-call path). A tool's JSON Schema (`schema.py`) is built when its spec is first
asked for (DescribeTools, RegisterTools, `get_tools()`), not at discovery.
"""

from __future__ import annotations

import copy
import inspect
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, TypeVar, Union, overload

from .schema import tool_schema

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
    # Overrides the arguments schema derived from the signature when given: a mapping is used as
    # the schema; anything else (Snakepit's parameter lists) describes the arguments as untyped.
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


# Guards the lazy computation of the tools' schemas (specs may be asked for from several threads).
_SCHEMA_LOCK = threading.Lock()


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
    metadata: Dict[str, str]
    thread_safe: bool = False
    # `@tool(parameters=...)`, when given (see ToolMeta.parameters).
    parameters_override: Optional[Any] = None
    _schema: List[Dict[str, Any]] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def parameters(self) -> Dict[str, Any]:
        """The tool's JSON Schema document (`ToolSpec.parameters_json`, see tools/schema.py),
        built on first use."""
        if not self._schema:
            with _SCHEMA_LOCK:
                if not self._schema:
                    self._schema.append(
                        tool_schema(
                            self.function,
                            self.signature,
                            streaming=self.supports_streaming,
                            injected=(CONTEXT_PARAMETER,),
                            override=self.parameters_override,
                            name=self.name,
                        )
                    )
        return self._schema[0]

    def spec(self) -> Dict[str, Any]:
        """The JSON-able description returned by `BaseAdapter.get_tools()` and DescribeTools."""
        return {
            "name": self.name,
            "description": self.description,
            "supports_streaming": self.supports_streaming,
            "parameters": copy.deepcopy(self.parameters),
            "metadata": dict(self.metadata),
        }


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
            metadata=metadata,
            thread_safe=thread_safe,
            parameters_override=meta.parameters,
        )
    return entries
