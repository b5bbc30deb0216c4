"""The adapter-author API, at Snakepit's module path: `BaseAdapter` and `@tool`.

    from snakepit_bridge.base_adapter import BaseAdapter, tool

    class MyAdapter(BaseAdapter):
        @tool(description="Adds two numbers")
        def add(self, a: int, b: int) -> int:
            return a + b

One adapter instance serves every call of a worker. Tools are the `@tool` methods; an adapter
may also define `execute_tool(self, tool_name, arguments, context)` (Snakepit's legacy entry
point), which receives calls for names that are not decorated methods.

`ThreadSafeAdapter` is the base for adapters served in threaded mode, where one instance runs
many calls at once on different threads.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, TypeVar

from .session_context import SessionContext, current_session_context
from .tools.registry import ToolEntry, discover_tools, tool

__all__ = ["BaseAdapter", "ThreadSafeAdapter", "thread_safe_method", "tool"]

F = TypeVar("F", bound=Callable[..., Any])


class BaseAdapter:
    """Base class for adapters. Subclasses need not call `super().__init__()`."""

    def get_tools(self) -> List[Dict[str, Any]]:
        """Specs of this adapter's tools: name, description, supports_streaming, parameters (the
        tool's JSON Schema document, see tools/schema.py), metadata.

        Adapters with legacy `execute_tool` tools may override this to describe them too; an entry
        whose `parameters` is not a mapping is described as untyped.
        """
        return [entry.spec() for entry in self._discovered_tools().values()]

    @property
    def session_context(self) -> Optional[SessionContext]:
        """The context of the call currently being served (correct under concurrency and in
        executor threads), or None outside a call."""
        return current_session_context()

    def initialize(self) -> object:
        """Called once after the adapter is created, before the worker reports ready. May be async."""
        return None

    def cleanup(self) -> object:
        """Called once when the worker stops gracefully. May be async."""
        return None

    def _discovered_tools(self) -> Dict[str, ToolEntry]:
        # Cached per instance in the instance dict, so subclasses need no __init__ chain.
        # (An adapter with __slots__ and no __dict__ just rediscovers each time.)
        storage: Optional[Dict[str, Any]] = getattr(self, "__dict__", None)
        cached: Optional[Dict[str, ToolEntry]] = storage.get("_snakepit_tools") if storage is not None else None
        if cached is None:
            cached = discover_tools(self)
            if storage is not None:
                storage["_snakepit_tools"] = cached
        return cached


def thread_safe_method(func: F) -> F:
    """Marks a method as safe to run on several threads at once, like `@tool(thread_safe=True)`.

    Snakepit's decorator of the same name; it only marks (no lock, no wrapper), so it works above
    or below `@tool` and on sync, async and generator methods alike.
    """
    setattr(func, "__thread_safe__", True)
    return func


# Guards the lazy creation of each adapter's locks and thread-local storage: subclasses need not
# call super().__init__(), so these cannot be created in __init__.
_SETUP_LOCK = threading.Lock()


class ThreadSafeAdapter(BaseAdapter):
    """Base for adapters served in threaded mode (`--mode threaded`).

    Declares `__thread_safe__ = True`, which threaded mode requires, and offers the three usual
    patterns: shared read-only state (load it in `__init__`/`initialize`), per-thread state
    (`self.thread_local`, or `get_thread_local`/`set_thread_local`), and shared mutable state
    behind a named lock (`with self.acquire_lock("cache"):`).
    """

    __thread_safe__ = True

    def _locks(self) -> Dict[str, "threading.RLock"]:
        locks: Optional[Dict[str, "threading.RLock"]] = self.__dict__.get("_snakepit_locks")
        if locks is None:
            with _SETUP_LOCK:
                locks = self.__dict__.setdefault("_snakepit_locks", {})
        return locks

    def lock(self, name: str = "default") -> "threading.RLock":
        """The adapter's reentrant lock called `name`, created on first use."""
        locks = self._locks()
        found = locks.get(name)
        if found is None:
            with _SETUP_LOCK:
                found = locks.setdefault(name, threading.RLock())
        return found

    @contextlib.contextmanager
    def acquire_lock(self, name: str = "default") -> Iterator[None]:
        """`with self.acquire_lock("name"):` runs the block while holding the named lock.

        Reentrant, so a tool holding it may call helpers that take it again. Avoid holding it in
        async tools: they run on the event loop, which a waiting lock would block.
        """
        with self.lock(name):
            yield

    @property
    def thread_local(self) -> threading.local:
        """Storage private to the current thread (per adapter instance)."""
        local: Optional[threading.local] = self.__dict__.get("_snakepit_thread_local")
        if local is None:
            with _SETUP_LOCK:
                local = self.__dict__.setdefault("_snakepit_thread_local", threading.local())
        return local

    # Snakepit's thread-local helpers.
    def get_thread_local(self, key: str, default: Any = None) -> Any:
        return getattr(self.thread_local, key, default)

    def set_thread_local(self, key: str, value: Any) -> None:
        setattr(self.thread_local, key, value)

    def clear_thread_local(self, key: Optional[str] = None) -> None:
        """Forgets one key of this thread's storage, or all of them."""
        if key is None:
            self.thread_local.__dict__.clear()
        else:
            self.thread_local.__dict__.pop(key, None)
