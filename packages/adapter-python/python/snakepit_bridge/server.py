"""Worker entry point, started by Node:

    python -u -m snakepit_bridge.server --adapter pkg.module.ClassName --control-fd 3 [--mode process]

Protocol with the parent (see README/DESIGN): the first stdin line is the JSON config (the token
never appears in argv); stdin then stays open and its EOF means the parent died. Exactly one JSON
line is written to the control fd: {"event": "ready", ...} once the gRPC server listens, or
{"event": "failed", ...} followed by exit code 3 when startup fails. SIGTERM/SIGINT stop
gracefully with exit code 0.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import signal
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from .control_channel import ControlChannel, StartupError
from .logging_setup import configure_logging
from .watchdog import start_stdin_watchdog

__all__ = ["main", "WorkerConfig", "EXIT_STARTUP_FAILED", "StartupError"]

EXIT_STARTUP_FAILED = 3
DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024
STOP_GRACE_SECONDS = 2.0
# Spare executor threads: a cancelled sync call keeps its thread until the function returns, and
# must not delay the next call.
SPARE_EXECUTOR_THREADS = 8
INSTALL_HINT = "pip install grpcio protobuf"

_log = logging.getLogger("snakepit_bridge.server")


class _ArgumentParser(argparse.ArgumentParser):
    # argparse would print usage and exit 2; a startup failure must go through the control fd.
    def error(self, message: str) -> Any:
        raise StartupError(f"invalid arguments: {message}")


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = _ArgumentParser(prog="python -m snakepit_bridge.server", add_help=False)
    parser.add_argument("--adapter", required=True, help="adapter class as package.module.ClassName")
    parser.add_argument("--control-fd", type=int, default=None, help="fd for the one readiness line")
    parser.add_argument("--mode", choices=("process", "threaded"), default="process")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--thread-safety-checks", action="store_true")
    return parser.parse_args(argv)


def _control_fd_from_argv(argv: List[str]) -> Optional[int]:
    """Best effort when argparse refused the arguments: the failure still belongs on the fd."""
    for index, arg in enumerate(argv):
        value = None
        if arg == "--control-fd" and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith("--control-fd="):
            value = arg.split("=", 1)[1]
        if value is not None:
            try:
                return int(value)
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class WorkerConfig:
    worker_id: str
    token: str
    host_address: Optional[str]
    heartbeat: Optional[Dict[str, Any]]
    log_level: str
    max_message_bytes: int

    @classmethod
    def from_json(cls, line: bytes) -> "WorkerConfig":
        try:
            data = json.loads(line.decode("utf-8"))
        except ValueError as exc:
            raise StartupError(f"the config line on stdin is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise StartupError("the config line on stdin must be a JSON object")
        token = data.get("token")
        if not isinstance(token, str) or not token:
            # Never serve unauthenticated.
            raise StartupError("the config has no token")
        max_bytes = data.get("max_message_bytes")
        if max_bytes is None:
            max_bytes = DEFAULT_MAX_MESSAGE_BYTES
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
            raise StartupError(f"max_message_bytes must be a positive integer, got {max_bytes!r}")
        heartbeat = data.get("heartbeat")
        return cls(
            worker_id=str(data.get("worker_id") or ""),
            token=token,
            host_address=data.get("host_address") or None,
            heartbeat=heartbeat if isinstance(heartbeat, dict) else None,
            log_level=str(data.get("log_level") or "info"),
            max_message_bytes=max_bytes,
        )


def read_config_line(fd: int = 0) -> bytes:
    """Reads stdin up to the first newline with raw reads, so nothing is left in a Python buffer
    for the watchdog to miss."""
    chunks: List[bytes] = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            if not chunks:
                raise StartupError("stdin closed before the config line arrived")
            break
        newline = chunk.find(b"\n")
        if newline >= 0:
            chunks.append(chunk[:newline])
            break
        chunks.append(chunk)
    return b"".join(chunks)


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


async def serve(args: argparse.Namespace, config: WorkerConfig, control: ControlChannel) -> bool:
    """Runs the worker until SIGTERM/SIGINT. Returns False when executor threads were still busy
    at exit (the caller then exits without joining them)."""
    import grpc

    from snakepit.bridge.v1 import worker_pb2, worker_pb2_grpc

    from .dispatch import Dispatcher
    from .hooks import call_hook
    from .worker_info import collect_worker_info
    from .worker_service import WorkerService

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    if args.mode != "process":
        raise NotImplementedError(f"--mode {args.mode} is not available in this version; use --mode process")
    capacity = 1

    adapter = load_adapter_class(args.adapter)()
    # On the main thread: some libraries tie state to the thread that initialised them.
    await call_hook(adapter, "initialize")

    executor = ThreadPoolExecutor(max_workers=capacity + SPARE_EXECUTOR_THREADS, thread_name_prefix="snakepit-tool")
    dispatcher = Dispatcher(adapter, executor)
    info = collect_worker_info(mode=args.mode, capacity=capacity, adapter=args.adapter)
    service = WorkerService(adapter=adapter, dispatcher=dispatcher, token=config.token, info=worker_pb2.WorkerInfo(**info))

    server = grpc.aio.server(
        options=[
            ("grpc.max_send_message_length", config.max_message_bytes),
            ("grpc.max_receive_message_length", config.max_message_bytes),
            # No other process may share this port.
            ("grpc.so_reuseport", 0),
        ]
    )
    worker_pb2_grpc.add_WorkerServiceServicer_to_server(service, server)
    # Loopback only: the worker trusts nothing but its parent on this host.
    port = server.add_insecure_port("127.0.0.1:0")
    if not port:  # older grpcio returns 0 instead of raising
        raise RuntimeError("could not bind a port on 127.0.0.1")
    await server.start()
    control.ready(port, info)
    _log.info("worker %s ready on 127.0.0.1:%d (adapter %s)", config.worker_id, port, args.adapter)

    await stop.wait()
    _log.info("stopping (signal received)")
    await server.stop(STOP_GRACE_SECONDS)
    try:
        await call_hook(adapter, "cleanup")
    except Exception:
        _log.error("adapter cleanup() raised", exc_info=True)
    return _shutdown_executor(executor, timeout=1.0)


def _shutdown_executor(executor: ThreadPoolExecutor, timeout: float) -> bool:
    executor.shutdown(wait=False, cancel_futures=True)
    joiner = threading.Thread(target=executor.shutdown, kwargs={"wait": True}, daemon=True)
    joiner.start()
    joiner.join(timeout)
    return not joiner.is_alive()


def _report_startup_failure(control: ControlChannel, exc: BaseException, message: Optional[str] = None) -> int:
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    control.failed(exc, message)
    return EXIT_STARTUP_FAILED


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(argv)
    except StartupError as exc:
        return _report_startup_failure(ControlChannel(_control_fd_from_argv(argv)), exc)
    control = ControlChannel(args.control_fd)
    try:
        config = WorkerConfig.from_json(read_config_line(0))
    except Exception as exc:
        return _report_startup_failure(control, exc)
    configure_logging(config.log_level)
    # From here on a dead parent kills this worker, even during a slow adapter import.
    start_stdin_watchdog(0)

    try:
        import grpc  # noqa: F401  (checked here so its absence is reported, not crashed on)
        import google.protobuf  # noqa: F401
        from snakepit.bridge.v1 import worker_pb2  # noqa: F401
    except Exception as exc:
        hint = f"{exc} (interpreter {sys.executable}); the Python side needs grpcio and protobuf: {INSTALL_HINT}"
        return _report_startup_failure(control, exc, hint)

    try:
        clean = asyncio.run(serve(args, config, control))
    except BaseException as exc:
        if not control.sent:
            return _report_startup_failure(control, exc)
        if isinstance(exc, KeyboardInterrupt):
            return 0
        _log.critical("worker crashed", exc_info=True)
        return 1
    if not clean:
        # A sync tool is still running in an executor thread; interpreter exit would join it.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
