"""An adapter written the old Snakepit way: one `execute_tool` method, no decorated tools (a unit
test fixture).

It proves the legacy path: names that are not `@tool` methods are handed to `execute_tool`,
whose return value may be a value, a coroutine or a generator.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Iterator, List

from snakepit_bridge import BaseAdapter, SessionContext

_LEGACY_TOOLS: List[Dict[str, Any]] = [
    {"name": "legacy_echo", "description": "Returns its arguments.", "supports_streaming": False, "parameters": []},
    {"name": "legacy_stream", "description": "Yields {'n': i} for i < count.", "supports_streaming": True,
     "parameters": [{"name": "count", "required": False, "annotation": "int", "default": 3}]},
    {"name": "legacy_async", "description": "Returns a coroutine that echoes its arguments.",
     "supports_streaming": False, "parameters": []},
    {"name": "legacy_session", "description": "Returns the call's session id.", "supports_streaming": False,
     "parameters": []},
]


class LegacyAdapter(BaseAdapter):
    def get_tools(self) -> List[Dict[str, Any]]:
        return super().get_tools() + [dict(spec) for spec in _LEGACY_TOOLS]

    def execute_tool(self, tool_name: str, arguments: Dict[str, Any], context: SessionContext) -> Any:
        if tool_name == "legacy_echo":
            return arguments
        if tool_name == "legacy_stream":
            return self._count(int(arguments.get("count", 3)))
        if tool_name == "legacy_async":
            return self._echo_later(arguments)
        if tool_name == "legacy_session":
            return {"session_id": context.session_id}
        raise ValueError(f"legacy adapter has no tool named {tool_name!r}")

    @staticmethod
    def _count(count: int) -> Iterator[Dict[str, int]]:
        for n in range(count):
            yield {"n": n}

    @staticmethod
    async def _echo_later(arguments: Dict[str, Any]) -> Dict[str, Any]:
        await asyncio.sleep(0)
        return arguments
