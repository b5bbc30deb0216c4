"""Starting and stopping one worker, shared by both entry points: `snakepit_bridge.server` (started
by a Node pool: config on stdin, readiness on fd 3, host bridge) and `snakepit_bridge.serve` (run
as a service: flags, TLS, no host). What differs between them — where settings come from, how the
port is bound, what the worker announces and how it stops — stays in the entry points.

`WorkerRuntime.start` loads the adapter (refusing one the mode cannot serve before it is created),
runs its `initialize()` on the loop's thread, and builds the tool threads, dispatcher and tracing;
`service()` builds the WorkerService on them; `cleanup()` and `stop_threads()` end it.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import threading
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple, Union

from .control_channel import StartupError

if TYPE_CHECKING:  # pragma: no cover - typing only: server.py imports this module before it
    # checks that grpcio and protobuf are installed, so nothing here may import them at load time.
    from .mode import WorkerMode
    from ..host.access import HostAccess
    from ..host.link_registry import LinkRegistry
    from ..observability.tracing import Tracing
    from ..tools.dispatch import Dispatcher
    from ..tools.threads import ToolThreads
    from .admission import Admission
    from .service import WorkerService

__all__ = [
    "WorkerRuntime",
    "load_adapter_class",
    "stop_signals",
    "next_interrupt",
    "message_limit_options",
    "shutdown_executor",
    "ServerOption",
]

_log = logging.getLogger("snakepit_bridge.server")

ServerOption = Tuple[str, Union[int, str]]


def load_adapter_class(path: str) -> type:
    module_name, _, class_name = path.rpartition(".")
    if not module_name or not class_name:
        raise StartupError(f"--adapter must be package.module.ClassName, got {path!r}")
    module = importlib.import_module(module_name)
    try:
        adapter_class = getattr(module, class_name)
    except AttributeError:
        raise AttributeError(f"module {module_name!r} has no attribute {class_name!r}") from None
    if not isinstance(adapter_class, type):
        raise TypeError(f"{path} is not a class")
    return adapter_class


def stop_signals() -> "asyncio.Queue[int]":
    """SIGTERM and SIGINT, delivered on the running loop as a queue of signal numbers."""
    loop = asyncio.get_running_loop()
    received: "asyncio.Queue[int]" = asyncio.Queue()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, received.put_nowait, signum)
    return received


async def next_interrupt(signals: "asyncio.Queue[int]", on_repeat: Callable[[int], None]) -> None:
    """Returns at the next SIGINT from `signals`: what ends a drain early. A repeated SIGTERM does
    not (`on_repeat` hears of it): systemd's default KillMode sends SIGTERM to every process of a
    unit, so a supervised server gets one from systemd and one from its supervisor."""
    while True:
        signum = await signals.get()
        if signum == signal.SIGINT:
            return
        on_repeat(signum)


def message_limit_options(max_message_bytes: int) -> List[ServerOption]:
    """The server options every worker sets: its message limit, and a port of its own."""
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        # No other process may share this port.
        ("grpc.so_reuseport", 0),
    ]


@dataclass
class WorkerRuntime:
    adapter_path: str
    mode: "WorkerMode"
    adapter: object
    executor: "ToolThreads"
    dispatcher: "Dispatcher"
    tracing: "Tracing"
    # The WorkerInfo fields, JSON-able (the ready line, log lines) and in every Ping answer.
    info: Dict[str, object]

    @classmethod
    async def start(cls, adapter_path: str, mode: "WorkerMode") -> "WorkerRuntime":
        """Loads and initialises the adapter. Call on the event loop (the worker's main thread)."""
        from .adapter_hooks import call_hook
        from .info import collect_worker_info
        from ..observability.tracing import load_tracing
        from ..tools.dispatch import Dispatcher
        from ..tools.thread_safety import ThreadSafetyMonitor
        from ..tools.threads import ToolThreads

        adapter_class = load_adapter_class(adapter_path)
        # Before the adapter exists: refusing must not cost a model load.
        mode.check_adapter(adapter_class, adapter_path)
        adapter = adapter_class()
        # On the main thread: some libraries tie state to the thread that initialised them.
        await call_hook(adapter, "initialize")

        monitor = ThreadSafetyMonitor() if mode.thread_safety_checks else None
        if monitor is not None:
            monitor.check_imports()  # the adapter's own module-level imports
        executor = ToolThreads(max_workers=mode.executor_threads, thread_name_prefix="snakepit-tool", hold_loop=mode.hold_loop)
        dispatcher = Dispatcher(adapter, executor, monitor=monitor)
        info = collect_worker_info(mode=mode.name, capacity=mode.capacity, adapter=adapter_path)
        return cls(adapter_path, mode, adapter, executor, dispatcher, load_tracing(), info)

    def service(
        self,
        *,
        host: Optional["HostAccess"],
        max_message_bytes: int,
        admission: Optional["Admission"] = None,
        links: Optional["LinkRegistry"] = None,
    ) -> "WorkerService":
        """The WorkerService for this adapter. `admission` None: the mode's own limit (threaded: N
        calls, the rest queued without limit; process: none, the pool sends one at a time).
        `links`: the clients' host links (a worker run as a service)."""
        from snakepit.bridge.v1 import worker_pb2

        from .service import WorkerService

        return WorkerService(
            adapter=self.adapter,
            dispatcher=self.dispatcher,
            info=worker_pb2.WorkerInfo(**self.info),
            host=host,
            tracing=self.tracing,
            admission_limit=self.mode.admission_limit,
            admission=admission,
            max_message_bytes=max_message_bytes,
            links=links,
        )

    async def cleanup(self) -> None:
        """Runs the adapter's `cleanup()`; a failure is logged."""
        from .adapter_hooks import call_hook

        try:
            await call_hook(self.adapter, "cleanup")
        except Exception:
            _log.error("adapter cleanup() raised", exc_info=True)

    def stop_threads(self, timeout: float = 1.0) -> bool:
        """Stops the tool threads. Returns False when some were still busy after `timeout` (the
        caller then exits without joining them: a sync tool cannot be interrupted)."""
        return shutdown_executor(self.executor, timeout)


def shutdown_executor(executor: Executor, timeout: float) -> bool:
    executor.shutdown(wait=False, cancel_futures=True)
    joiner = threading.Thread(target=executor.shutdown, kwargs={"wait": True}, daemon=True)
    joiner.start()
    joiner.join(timeout)
    return not joiner.is_alive()
