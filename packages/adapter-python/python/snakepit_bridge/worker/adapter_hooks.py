"""Optional adapter hooks (initialize, cleanup, on_session_begin, on_session_end).

A hook may be missing, sync or async. Sync hooks called while serving run in the executor
(through `run_sync`) so they cannot stall pings.
"""

from __future__ import annotations

import inspect
from typing import Any, Awaitable, Callable, Optional

__all__ = ["call_hook"]

RunSync = Callable[..., Awaitable[Any]]


async def call_hook(target: object, name: str, *args: object, run_sync: Optional[RunSync] = None) -> object:
    """Calls `target.<name>(*args)` if it exists; returns its (awaited) result, or None."""
    hook = getattr(target, name, None)
    if not callable(hook):
        return None
    if inspect.iscoroutinefunction(hook):
        return await hook(*args)
    result = await run_sync(hook, *args) if run_sync is not None else hook(*args)
    if inspect.isawaitable(result):
        result = await result
    return result
