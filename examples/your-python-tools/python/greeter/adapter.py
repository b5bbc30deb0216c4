"""A small adapter of your own: tools are methods marked with @tool."""

import asyncio
import sys
from typing import Any, AsyncIterator, Dict

from snakepit_bridge import BaseAdapter, SessionContext, tool


class GreeterAdapter(BaseAdapter):
    def initialize(self) -> None:
        # Runs once per worker, before it takes calls: load models, open clients, warm caches here.
        self.greeting = "Hello"

    @tool(description="Greets someone by name")
    def greet(self, name: str, excited: bool = False) -> str:
        return f"{self.greeting}, {name}{'!' if excited else '.'}"

    @tool(description="Counts down, one chunk per second fraction", supports_streaming=True)
    async def countdown(self, start: int = 3, context: SessionContext = None) -> AsyncIterator[Dict[str, Any]]:
        for remaining in range(start, 0, -1):
            await asyncio.sleep(0.05)
            yield {"remaining": remaining, "session": context.session_id}
        yield {"remaining": 0, "is_final": True}

    @tool(description="Which Python runs this worker, and whether it is a virtualenv")
    def interpreter(self) -> Dict[str, Any]:
        return {
            "executable": sys.executable,
            "prefix": sys.prefix,
            "virtualenv": sys.prefix != sys.base_prefix,
            "version": sys.version.split()[0],
        }
