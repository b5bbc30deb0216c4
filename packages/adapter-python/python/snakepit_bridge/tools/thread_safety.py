"""Threaded-mode rules: which adapters may serve concurrent calls, and the optional runtime checks.

Declaring safety happens at two levels:
- the adapter class sets `__thread_safe__ = True` (or subclasses `ThreadSafeAdapter`): required to
  start in threaded mode at all, checked before the adapter is even instantiated;
- a tool is marked `@tool(..., thread_safe=True)` (or `@thread_safe_method`): it says this tool may
  run on several threads at once. Only `--thread-safety-checks` looks at it.

With `--thread-safety-checks`, `ThreadSafetyMonitor` warns (once per tool, through the worker's
logger) when a sync tool not marked thread-safe is entered by a second thread while a first one is
still inside it, and (once per module) when a module known to be unsafe under threads has been
imported. Async tools are not watched: they all run on the one event-loop thread.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Set

__all__ = [
    "NotThreadSafeError",
    "check_thread_safe_adapter",
    "declares_thread_safe",
    "ThreadSafetyMonitor",
    "KNOWN_THREAD_UNSAFE_MODULES",
]

# Modules whose import in a threaded worker almost always means trouble; detectable by name.
# (Sharing a sqlite3 connection across threads is as bad, but nothing in sys.modules reveals it.)
KNOWN_THREAD_UNSAFE_MODULES: Mapping[str, str] = {
    "matplotlib.pyplot": "pyplot keeps one global current figure; build figures per call with matplotlib.figure.Figure",
    "tkinter": "Tk objects may only be used from the thread that created them",
    "turtle": "turtle draws through Tk, whose objects may only be used from one thread",
    "PyQt5.QtWidgets": "Qt widgets may only be used from the GUI thread",
    "PyQt6.QtWidgets": "Qt widgets may only be used from the GUI thread",
    "PySide6.QtWidgets": "Qt widgets may only be used from the GUI thread",
}


class NotThreadSafeError(Exception):
    """Threaded mode was asked to serve an adapter that does not declare itself thread-safe."""


def declares_thread_safe(target: object) -> bool:
    """True when a class, method or function carries `__thread_safe__ = True`."""
    return getattr(target, "__thread_safe__", False) is True


def check_thread_safe_adapter(adapter_class: type, adapter_path: str) -> None:
    if not declares_thread_safe(adapter_class):
        raise NotThreadSafeError(
            f"{adapter_path} does not declare itself thread-safe, so it cannot run in threaded mode: "
            "the class must set `__thread_safe__ = True` or subclass "
            "snakepit_bridge.ThreadSafeAdapter (after making its tools safe to run concurrently), "
            "or use process mode (--mode process)"
        )


class _GuardedIterator:
    """A sync stream whose every step counts as being inside the tool."""

    __slots__ = ("_iterator", "_monitor", "_tool")

    def __init__(self, iterator: Iterator[Any], monitor: "ThreadSafetyMonitor", tool: str) -> None:
        self._iterator = iterator
        self._monitor = monitor
        self._tool = tool

    def __iter__(self) -> "_GuardedIterator":
        return self

    def __next__(self) -> Any:
        self._monitor.enter(self._tool)
        try:
            return next(self._iterator)
        finally:
            self._monitor.exit(self._tool)

    def close(self) -> None:
        close = getattr(self._iterator, "close", None)
        if callable(close):
            close()


class ThreadSafetyMonitor:
    def __init__(
        self,
        logger: Optional[logging.Logger] = None,
        unsafe_modules: Mapping[str, str] = KNOWN_THREAD_UNSAFE_MODULES,
    ) -> None:
        self._log = logger or logging.getLogger("snakepit_bridge.thread_safety")
        self._unsafe_modules = dict(unsafe_modules)
        self._lock = threading.Lock()
        self._inside: Dict[str, int] = {}
        self._warned_tools: Set[str] = set()
        self._warned_modules: Set[str] = set()

    # -- concurrent entry --------------------------------------------------------------------

    def enter(self, tool: str) -> None:
        with self._lock:
            inside = self._inside.get(tool, 0) + 1
            self._inside[tool] = inside
            first_overlap = inside > 1 and tool not in self._warned_tools
            if first_overlap:
                self._warned_tools.add(tool)
        if first_overlap:  # logged outside the lock: handlers may be slow
            self._log.warning(
                "tool %r is running on %d threads at once but is not marked thread-safe; if it is, "
                "mark it @tool(thread_safe=True), otherwise guard its shared state "
                "(e.g. `with self.acquire_lock():`)",
                tool,
                inside,
                extra={"tool": tool},
            )

    def exit(self, tool: str) -> None:
        with self._lock:
            self._inside[tool] -= 1

    def guard_call(self, tool: str, thunk: Callable[[], Any]) -> Callable[[], Any]:
        def guarded() -> Any:
            self.enter(tool)
            try:
                return thunk()
            finally:
                self.exit(tool)

        return guarded

    def guard_stream(self, tool: str, thunk: Callable[[], Any]) -> Callable[[], Any]:
        def guarded() -> Any:
            iterator = thunk()
            return _GuardedIterator(iterator, self, tool) if isinstance(iterator, Iterator) else iterator

        return guarded

    # -- unsafe imports ----------------------------------------------------------------------

    def check_imports(self) -> None:
        """Warns once for each known thread-unsafe module imported so far. A few dict lookups."""
        if len(self._warned_modules) == len(self._unsafe_modules):
            return
        modules = sys.modules
        for name, reason in self._unsafe_modules.items():
            if name in modules and name not in self._warned_modules:
                with self._lock:
                    if name in self._warned_modules:
                        continue
                    self._warned_modules.add(name)
                self._log.warning("module %s is imported in a threaded worker: %s", name, reason)
