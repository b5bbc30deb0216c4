"""The showcase adapter: small tools that exercise every path of the bridge.

The Node integration tests drive exactly these tools; module-level dicts hold per-worker state
(counters, cancellation and stream bookkeeping) that tests read back through tools.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections import namedtuple
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, TypedDict

from ..base_adapter import BaseAdapter, tool
from ..session_context import SessionContext
from .showcase_host import HostBridgeTools

_log = logging.getLogger("showcase")

# Per-worker state, observable through counter_value / cancelled_count / stream_state. Guarded by
# _state_lock so the threaded showcase can share it across threads.
_state_lock = threading.Lock()
counters: Dict[str, int] = {}
cancelled: Dict[str, int] = {}
produced: Dict[str, int] = {}
closed: Dict[str, bool] = {}
_grandchildren: List["subprocess.Popen[bytes]"] = []

Point = namedtuple("Point", ["x", "y"])

_FAILURES = {
    "ValueError": ValueError,
    "TypeError": TypeError,
    "RuntimeError": RuntimeError,
    "MemoryError": MemoryError,
    "KeyError": KeyError,
    "TimeoutError": TimeoutError,
    "NotImplementedError": NotImplementedError,
}

_LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}

_BYTE_PATTERN = bytes(range(256))


class Opaque:
    """Has no JSON form; its secret must never appear in an encoded result."""

    def __init__(self) -> None:
        self.secret = "opaque-secret-value"

    def __repr__(self) -> str:
        return f"Opaque(secret={self.secret!r})"


# Result and chunk shapes: their names become the $defs (and TypeScript type) names in the tools'
# schemas (tools/schema.py).
class Pong(TypedDict):
    pong: bool
    pid: int


class BytesInfo(TypedDict):
    type: str
    length: int
    sha256: str


class SessionInfo(TypedDict):
    session_id: Optional[str]
    correlation_id: Optional[str]
    metadata: Dict[str, str]


class Progress(TypedDict):
    step: int
    total: int
    message: str
    progress: float
    is_final: bool


class Tick(TypedDict):
    tick: int


class StreamState(TypedDict):
    produced: int
    closed: bool


class CounterValue(TypedDict):
    name: str
    value: int


def _count_cancelled(name: str) -> None:
    with _state_lock:
        cancelled[name] = cancelled.get(name, 0) + 1


class ShowcaseAdapter(HostBridgeTools, BaseAdapter):
    # -- basics ----------------------------------------------------------------------------

    @tool(description="Liveness check: returns pong and the worker pid.")
    def ping(self) -> Pong:
        return {"pong": True, "pid": os.getpid()}

    @tool(description="Returns its keyword arguments unchanged.")
    def echo(self, **kwargs: Any) -> Dict[str, Any]:
        return kwargs

    @tool(description="Returns the given bytes (a binary result).")
    def echo_bytes(self, data: bytes) -> bytes:
        return data

    @tool(description="Type name, length and SHA-256 of the argument.")
    def bytes_info(self, data: Any) -> BytesInfo:
        raw = data if isinstance(data, (bytes, bytearray)) else str(data).encode("utf-8")
        return {"type": type(data).__name__, "length": len(data), "sha256": hashlib.sha256(raw).hexdigest()}

    @tool(description="size bytes of the pattern 0, 1, ..., 255, 0, 1, ...")
    def make_bytes(self, size: int) -> bytes:
        repeats = size // len(_BYTE_PATTERN) + 1
        return (_BYTE_PATTERN * repeats)[:size]

    @tool(description="A string of size 'x' characters.")
    def big_text(self, size: int) -> str:
        return "x" * size

    @tool(description="a + b")
    def add(self, a: float, b: float) -> float:
        return a + b

    @tool(description="This worker's process id.")
    def pid(self) -> int:
        return os.getpid()

    @tool(description="The value of an environment variable, or null.")
    def env(self, name: str) -> Optional[str]:
        return os.environ.get(name)

    @tool(description="The call's session id, correlation id and metadata.")
    def session_info(self, context: SessionContext) -> SessionInfo:
        return {
            "session_id": context.session_id,
            "correlation_id": context.correlation_id,
            "metadata": context.metadata,
        }

    # -- streaming -------------------------------------------------------------------------

    @tool(description="Progress updates; the last one has is_final true.", supports_streaming=True)
    async def stream_progress(self, steps: int = 5, delay_ms: int = 100) -> AsyncIterator[Progress]:
        for step in range(1, steps + 1):
            await asyncio.sleep(delay_ms / 1000)
            yield {
                "step": step,
                "total": steps,
                "message": f"Processing step {step}/{steps}",
                "progress": round(step * 100 / steps, 1),
                "is_final": step == steps,
            }

    @tool(description="Yields each value as-is (sync generator).", supports_streaming=True)
    def stream_values(self, values: List[Any]) -> Iterator[Any]:
        for value in values:
            yield value

    @tool(description="Yields {'i': i} for i < after, then raises RuntimeError.", supports_streaming=True)
    def fail_stream(self, after: int = 2) -> Iterator[Dict[str, int]]:
        for i in range(after):
            yield {"i": i}
        raise RuntimeError("stream failed")

    @tool(description="Async generator of ticks; records production and closing.", supports_streaming=True)
    async def stream_ticks(self, name: str = "ticks", delay_ms: int = 20, limit: int = 100000) -> AsyncIterator[Tick]:
        produced[name] = 0
        closed[name] = False
        try:
            for i in range(limit):
                produced[name] += 1
                yield {"tick": i}
                await asyncio.sleep(delay_ms / 1000)
        finally:
            closed[name] = True

    @tool(description="Sync generator of ticks; records production and closing.", supports_streaming=True)
    def stream_ticks_sync(self, name: str = "ticks_sync", delay_ms: int = 20, limit: int = 100000) -> Iterator[Tick]:
        produced[name] = 0
        closed[name] = False
        try:
            for i in range(limit):
                produced[name] += 1
                yield {"tick": i}
                time.sleep(delay_ms / 1000)
        finally:
            closed[name] = True

    @tool(description="How many ticks a stream produced and whether its generator was closed.")
    def stream_state(self, name: str) -> StreamState:
        return {"produced": produced.get(name, 0), "closed": closed.get(name, False)}

    # -- failures --------------------------------------------------------------------------

    @tool(description="Raises the builtin exception named by kind.")
    def fail(self, message: str = "boom", kind: str = "ValueError") -> None:
        raise _FAILURES.get(kind, ValueError)(message)

    @tool(description="Writes its arguments to stderr, then raises ValueError.")
    def print_and_fail(self, **kwargs: Any) -> None:
        sys.stderr.write(repr(kwargs) + "\n")
        sys.stderr.flush()
        raise ValueError("print_and_fail: refused")

    @tool(description="Values without a plain JSON form: datetime, an opaque object, a namedtuple, NaN.")
    def unserializable(self) -> Dict[str, Any]:
        return {
            "when": datetime.datetime(2024, 1, 2, 3, 4, 5),
            "custom": Opaque(),
            "point": Point(1, 2),
            "nan": float("nan"),
        }

    @tool(description="numpy.arange(6).reshape(2, 3); ModuleNotFoundError without numpy.")
    def numpy_array(self) -> Any:
        import numpy  # deliberately lazy: the error is the point when numpy is missing

        return numpy.arange(6).reshape(2, 3)

    # -- time, cancellation, state ---------------------------------------------------------

    @tool(description="Async sleep; counts cancellations under 'sleep'.")
    async def sleep(self, ms: int) -> Dict[str, int]:
        try:
            await asyncio.sleep(ms / 1000)
        except asyncio.CancelledError:
            _count_cancelled("sleep")
            raise
        return {"slept_ms": ms}

    @tool(description="Blocking sleep in an executor thread.")
    def sleep_sync(self, ms: int) -> Dict[str, int]:
        time.sleep(ms / 1000)
        return {"slept_ms": ms}

    @tool(description="Sync tool that polls context.is_cancelled(); counts cancellations under 'wait_for_cancel'.")
    def wait_for_cancel(self, timeout_ms: int = 5000) -> Dict[str, bool]:
        context = self.session_context
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            if context is not None and context.is_cancelled():
                _count_cancelled("wait_for_cancel")
                return {"cancelled": True}
            time.sleep(0.01)
        return {"cancelled": False}

    @tool(description="Blocks the event loop (time.sleep inside an async tool).")
    async def wedge(self, seconds: float) -> Dict[str, float]:
        time.sleep(seconds)
        return {"wedged_s": seconds}

    @tool(description="Increments a per-worker counter and returns its new value.")
    def counter(self, name: str = "default", increment: int = 1) -> CounterValue:
        with _state_lock:
            counters[name] = counters.get(name, 0) + increment
            return {"name": name, "value": counters[name]}

    @tool(description="A counter's current value.")
    def counter_value(self, name: str = "default") -> CounterValue:
        return {"name": name, "value": counters.get(name, 0)}

    @tool(description="How many times the named tool was cancelled.")
    def cancelled_count(self, name: str = "sleep") -> int:
        return cancelled.get(name, 0)

    # -- process -----------------------------------------------------------------------------

    @tool(description="Waits delay_ms, then exits the worker process with the given code.")
    def crash(self, code: int = 1, delay_ms: int = 0) -> None:
        time.sleep(delay_ms / 1000)
        os._exit(code)

    @tool(description="Starts `sleep seconds` in the worker's process group; returns its pid.")
    def spawn_grandchild(self, seconds: int = 1000) -> Dict[str, int]:
        child = subprocess.Popen(["sleep", str(seconds)], stdin=subprocess.DEVNULL)
        _grandchildren.append(child)
        return {"pid": child.pid}

    @tool(description="Prints the message with print() (stdout, or stderr when stream is 'stderr').")
    def print_message(self, message: str, stream: str = "stdout") -> bool:
        print(message, file=sys.stderr if stream == "stderr" else sys.stdout, flush=True)
        return True

    @tool(description="Logs the message through logging.getLogger('showcase').")
    def log_message(self, message: str, level: str = "info") -> bool:
        _log.log(_LOG_LEVELS.get(level.lower(), logging.INFO), message)
        return True
