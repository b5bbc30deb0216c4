"""Process mode and threaded mode: one server, two strategies.

Everything else — the gRPC server, the servicer, dispatch, streaming, host bridge, heartbeat,
readiness, watchdog and shutdown — is shared; a mode only decides these numbers and one rule:

| | process | threaded |
|---|---|---|
| capacity (announced in WorkerInfo) | 1 | `--threads N` (default 4) |
| executor threads | 1 + 8 spare | N + 8 spare |
| tool calls admitted at once | all that arrive (the pool sends one) | N; more wait in FIFO order |
| adapter must declare `__thread_safe__ = True` | no | yes, checked before it is created |
| loop waits for a sync call before going back to the loop | up to 10 ms | never |

Spare threads: a cancelled sync call keeps its thread until the function returns (Python cannot
interrupt it) while its capacity is already handed back to the pool, so the next calls must find
free threads. In threaded mode the admission limit, not the executor size, keeps the worker at N
concurrent calls. Pings, DescribeTools and session notices are never limited (the gRPC server has
no `maximum_concurrent_rpcs`: a cap would refuse the pool's liveness pings exactly when the worker
is busiest).

The wait (tools/threads.py): a quick sync call's answer then skips the event loop's wake-up, about
half of the thread round trip's CPU. A process-mode worker serves one call at a time, so nothing
waits behind it but pings, heartbeats and cancel frames, delayed by at most the 10 ms. In threaded
mode the loop must start the other calls at once.

Why 10 ms and not less: a wait that runs out while the call goes on costs more than no wait at all.
The loop thread wakes up only to go back to the loop, and while a pure-Python tool holds the GIL it
cannot even do that until the switch interval (5 ms) forces the tool to hand the GIL over. With a
1 ms wait, a 2.5 ms call cost the worker ~60 µs more CPU than with 10 ms, an 8 ms one ~200 µs (on
a 2-core VM); a call longer than the wait pays that once, whatever its length. The price: a ping
that arrives in a call's first 10 ms waits for the rest of them.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Optional

from ..tools.thread_safety import check_thread_safe_adapter
from .control_channel import StartupError

__all__ = ["WorkerMode", "DEFAULT_THREADS", "SPARE_EXECUTOR_THREADS"]

DEFAULT_THREADS = 4
SPARE_EXECUTOR_THREADS = 8
PROCESS_MODE_HOLD_LOOP_SECONDS = 0.010


@dataclass(frozen=True)
class WorkerMode:
    name: str
    capacity: int
    # None: no limit in the worker (the pool sends at most `capacity` calls).
    admission_limit: Optional[int]
    thread_safety_checks: bool

    @property
    def executor_threads(self) -> int:
        return self.capacity + SPARE_EXECUTOR_THREADS

    @property
    def hold_loop(self) -> float:
        """Seconds the event loop thread may wait for a sync call (see the module docstring)."""
        return PROCESS_MODE_HOLD_LOOP_SECONDS if self.name == "process" else 0.0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "WorkerMode":
        checks = bool(getattr(args, "thread_safety_checks", False))
        threads = getattr(args, "threads", None)
        if args.mode == "process":
            if threads is not None:
                raise StartupError("--threads only applies to --mode threaded")
            return cls(name="process", capacity=1, admission_limit=None, thread_safety_checks=checks)
        if threads is None:
            threads = DEFAULT_THREADS
        if threads < 1:
            raise StartupError(f"--threads must be at least 1, got {threads}")
        return cls(name="threaded", capacity=threads, admission_limit=threads, thread_safety_checks=checks)

    def check_adapter(self, adapter_class: type, adapter_path: str) -> None:
        """Refuses an adapter this mode cannot serve; called before the adapter is created."""
        if self.name == "threaded":
            check_thread_safe_adapter(adapter_class, adapter_path)
