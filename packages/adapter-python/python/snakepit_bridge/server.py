"""Worker entry point, started by Node:

    python -u -m snakepit_bridge.server --adapter pkg.module.ClassName --control-fd 3 \
        [--mode process | --mode threaded [--threads N]] [--thread-safety-checks]

Protocol with the parent (see README/DESIGN): the first stdin line is the JSON config (the token
never appears in argv); stdin then stays open and its EOF means the parent died. Exactly one JSON
line is written to the control fd: {"event": "ready", ...} once the gRPC server listens, or
{"event": "failed", ...} followed by exit code 3 when startup fails. SIGTERM/SIGINT stop
gracefully with exit code 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from typing import List, NoReturn, Optional

from .observability.logging_setup import configure_logging
from .worker.config import WorkerConfig, read_config_line
from .worker.control_channel import ControlChannel, StartupError
from .worker.runtime import WorkerRuntime, load_adapter_class, message_limit_options, stop_signals
from .worker.watchdog import start_stdin_watchdog

__all__ = ["main", "EXIT_STARTUP_FAILED", "load_adapter_class"]

EXIT_STARTUP_FAILED = 3
STOP_GRACE_SECONDS = 2.0
INSTALL_HINT = "pip install grpcio protobuf"

_log = logging.getLogger("snakepit_bridge.server")


class _ArgumentParser(argparse.ArgumentParser):
    # argparse would print usage and exit 2; a startup failure must go through the control fd.
    def error(self, message: str) -> NoReturn:
        raise StartupError(f"invalid arguments: {message}")


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = _ArgumentParser(prog="python -m snakepit_bridge.server", add_help=False)
    parser.add_argument("--adapter", required=True, help="adapter class as package.module.ClassName")
    parser.add_argument("--control-fd", type=int, default=None, help="fd for the one readiness line")
    parser.add_argument("--mode", choices=("process", "threaded"), default="process")
    parser.add_argument("--threads", type=int, default=None, help="threaded mode: calls run at once (default 4)")
    parser.add_argument("--thread-safety-checks", action="store_true", help="warn about unsafe concurrent use")
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


async def serve(args: argparse.Namespace, config: WorkerConfig, control: ControlChannel) -> bool:
    """Runs the worker until SIGTERM/SIGINT. Returns False when executor threads were still busy
    at exit (the caller then exits without joining them)."""
    from .host.link import HostLink
    from .worker.mode import WorkerMode
    from .worker.service import create_server

    signals = stop_signals()
    mode = WorkerMode.from_args(args)
    runtime = await WorkerRuntime.start(args.adapter, mode)
    host = HostLink.open(config, runtime.tracing) if config.host_address else None
    service = runtime.service(host=host.access if host is not None else None, max_message_bytes=config.max_message_bytes)

    # Every call must carry config.token (checked by the server's interceptor, see create_server).
    # No maximum_concurrent_rpcs: a cap would refuse pings when the worker is busiest (worker/mode.py).
    server = create_server(service, config.token, options=message_limit_options(config.max_message_bytes))
    # Loopback only: the worker trusts nothing but its parent on this host.
    port = server.add_insecure_port("127.0.0.1:0")
    if not port:  # older grpcio returns 0 instead of raising
        raise RuntimeError("could not bind a port on 127.0.0.1")
    await server.start()
    if host is not None:
        await host.register_tools(runtime.dispatcher.describe)
    control.ready(port, runtime.info)
    _log.info("worker %s ready on 127.0.0.1:%d (adapter %s, %s mode, capacity %d)",
              config.worker_id, port, args.adapter, mode.name, mode.capacity)
    if host is not None:
        host.start_heartbeat(config.heartbeat)

    await signals.get()
    _log.info("stopping (signal received)")
    await server.stop(STOP_GRACE_SECONDS)
    await runtime.cleanup()
    if host is not None:
        await host.close()
    return runtime.stop_threads(timeout=1.0)


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
