"""The adapter-author API, at Snakepit's module path: `BaseAdapter` and `@tool`.

    from snakepit_bridge.base_adapter import BaseAdapter, tool

    class MyAdapter(BaseAdapter):
        @tool(description="Adds two numbers")
        def add(self, a: int, b: int) -> int:
            return a + b

One adapter instance serves every call of a worker. Tools are the `@tool` methods; an adapter
may also define `execute_tool(self, tool_name, arguments, context)` (Snakepit's legacy entry
point), which receives calls for names that are not decorated methods.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .session_context import SessionContext, current_session_context
from .tool_registry import ToolEntry, discover_tools, tool

__all__ = ["BaseAdapter", "tool"]


class BaseAdapter:
    """Base class for adapters. Subclasses need not call `super().__init__()`."""

    def get_tools(self) -> List[Dict[str, Any]]:
        """Specs of this adapter's tools: name, description, supports_streaming, parameters, metadata.

        Adapters with legacy `execute_tool` tools may override this to describe them too.
        """
        return [entry.spec() for entry in self._discovered_tools().values()]

    @property
    def session_context(self) -> Optional[SessionContext]:
        """The context of the call currently being served (correct under concurrency and in
        executor threads), or None outside a call."""
        return current_session_context()

    def initialize(self) -> Any:
        """Called once after the adapter is created, before the worker reports ready. May be async."""
        return None

    def cleanup(self) -> Any:
        """Called once when the worker stops gracefully. May be async."""
        return None

    def _discovered_tools(self) -> Dict[str, ToolEntry]:
        # Cached per instance in the instance dict, so subclasses need no __init__ chain.
        # (An adapter with __slots__ and no __dict__ just rediscovers each time.)
        storage = getattr(self, "__dict__", None)
        cached = storage.get("_snakepit_tools") if storage is not None else None
        if cached is None:
            cached = discover_tools(self)
            if storage is not None:
                storage["_snakepit_tools"] = cached
        return cached
