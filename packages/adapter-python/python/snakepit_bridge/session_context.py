"""The per-call context handed to tools: who is calling, for which session, and whether to stop.

One `SessionContext` is created for every WorkerService call. It is published through a
`ContextVar`, so `BaseAdapter.session_context` returns the right object even when many calls run
at once (threaded mode) and inside executor threads (sync tools run under `copy_context()`).

Host-bridge features (host tools, session state) will be added to this class in a later
milestone; until then it deliberately offers nothing that would only pretend to work.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Dict, Mapping, Optional

__all__ = ["SessionContext", "current_session_context"]


class SessionContext:
    """What a tool knows about the call it is serving."""

    __slots__ = ("session_id", "correlation_id", "metadata", "_cancelled")

    def __init__(
        self,
        session_id: Optional[str] = None,
        correlation_id: Optional[str] = None,
        metadata: Optional[Mapping[str, str]] = None,
    ) -> None:
        # The wire uses "" for "no session"; Python code should see None instead.
        self.session_id: Optional[str] = session_id or None
        self.correlation_id: Optional[str] = correlation_id or None
        self.metadata: Dict[str, str] = dict(metadata or {})
        # A threading.Event, not an asyncio one: sync tools poll it from executor threads.
        self._cancelled = threading.Event()

    def is_cancelled(self) -> bool:
        """True once the caller went away (cancel or deadline); cooperative tools should stop."""
        return self._cancelled.is_set()

    def mark_cancelled(self) -> None:
        """Called by the bridge when the call is cancelled. Tools do not call this."""
        self._cancelled.set()

    def __repr__(self) -> str:
        # Metadata values may be sensitive; only their keys are shown.
        return (
            f"SessionContext(session_id={self.session_id!r}, correlation_id={self.correlation_id!r}, "
            f"metadata_keys={sorted(self.metadata)!r}, cancelled={self.is_cancelled()})"
        )


_current: ContextVar[Optional[SessionContext]] = ContextVar("snakepit_session_context", default=None)


def current_session_context() -> Optional[SessionContext]:
    """The context of the call being served by the current task or thread, or None outside a call."""
    return _current.get()


def set_current_session_context(context: Optional[SessionContext]) -> None:
    """Bridge-internal: publish the context for the current asyncio task (one task per RPC)."""
    _current.set(context)
