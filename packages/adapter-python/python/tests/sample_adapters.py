"""Small adapters used by the unit tests (the showcase adapter is exercised end to end)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, List, Optional

from snakepit_bridge import BaseAdapter, SessionContext, tool

events: List[str] = []


class SampleAdapter(BaseAdapter):
    @tool
    def plain(self, a: int, b: int = 2) -> int:
        """Adds b to a."""
        return a + b

    @tool(description="custom description", name="renamed")
    def original_name(self) -> str:
        return "renamed"

    @tool(description="awaited on the loop")
    async def async_tool(self, x: Any) -> Dict[str, Any]:
        await asyncio.sleep(0)
        return {"x": x, "thread": threading.current_thread().name}

    @tool
    def thread_name(self) -> str:
        return threading.current_thread().name

    @tool
    def with_context(self, context: SessionContext, value: Optional[int] = None) -> Dict[str, Any]:
        return {
            "session_id": context.session_id,
            "metadata": context.metadata,
            "value": value,
            "same_as_property": context is self.session_context,
        }

    @tool
    def keyword_only(self, *, k: str) -> str:
        return k

    @tool
    def variadic(self, first: int, **rest: Any) -> Dict[str, Any]:
        return {"first": first, "rest": rest}

    @tool(supports_streaming=True)
    def sync_gen(self, n: int = 3):
        for i in range(n):
            yield i

    @tool
    async def async_gen(self, n: int = 3):
        for i in range(n):
            yield {"i": i}

    @tool
    def returns_coroutine(self):
        async def later() -> str:
            return "awaited"

        return later()

    @tool
    def raises(self, kind: str = "key") -> None:
        if kind == "key":
            raise KeyError("missing-key")
        raise RuntimeError("runtime")

    @tool
    def binary_len(self, data: bytes) -> int:
        return len(data)

    @tool(parameters={"type": "object", "properties": {"q": {"type": "string"}}})
    def explicit_schema(self, q: str) -> str:
        return q

    def not_a_tool(self) -> str:
        return "hidden"

    @property
    def explosive(self) -> Any:  # discovery must not evaluate properties
        raise AssertionError("property evaluated during discovery")

    def on_session_begin(self, session_id: str) -> None:
        events.append(f"begin:{session_id}")

    async def on_session_end(self, session_id: str) -> None:
        events.append(f"end:{session_id}")


class FailingInitAdapter(BaseAdapter):
    """Startup must fail (control fd "failed", exit 3) when initialize() raises."""

    async def initialize(self) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("model weights not found")
