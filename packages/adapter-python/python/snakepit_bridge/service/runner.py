"""One worker run as a service: the pool-spawned worker's runtime and WorkerService, bound to the
address of the flags (TLS when given), with its own capacity enforced across every client.

What differs from a worker a pool starts (server.py), and why:

- no config line on stdin, no control fd, no stdin watchdog and no host heartbeat: nothing here
  belongs to one client, so no client going away stops the worker. gRPC cancels the calls of a
  connection that closes (and the server's keepalive pings find connections that died silently),
  and the worker serves the others on;
- no host bridge to dial: a call's host requests (`context.call_host_tool`, `context.state`)
  travel on the call channel of the client that made it, when that client opened a host link
  (`x-snakepit-host-link`, host/link_registry.py); without one they raise HostBridgeUnavailable
  saying so;
- tokens: every line of `--token-file` is accepted, and SIGHUP reads the file again
  (token_reload.py);
- capacity (1 in process mode, N threaded) is enforced by the worker: a call beyond it waits in
  the admission queue or is refused with `worker_busy` (worker/admission.py), never run;
- SIGTERM/SIGINT drain: the server stops listening and sends GOAWAY (new RPCs fail UNAVAILABLE),
  calls waiting for a slot and calls arriving on open call channels are refused `worker_busy`
  (`reason: draining`), calls in flight get `--drain-seconds`; each call channel ends with
  UNAVAILABLE once its calls have answered. Then the adapter's cleanup() runs and the process
  exits 0. A SIGINT during the drain ends it at once (calls still running are cancelled); a
  repeated SIGTERM does not (systemd's default KillMode signals every process of the unit);
- log lines are JSON on stdout; the line `"event": "listening"` says the server is up (with the
  port it got, for `--listen HOST:0`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any, Dict, List

from ..observability.logging_setup import FIELDS_ATTRIBUTE
from ..worker.runtime import ServerOption, WorkerRuntime, message_limit_options, next_interrupt, stop_signals
from .settings import ServiceSettings

if TYPE_CHECKING:  # pragma: no cover - typing only
    import grpc

__all__ = ["run_service", "serve_service", "SERVICE_SERVER_OPTIONS", "NO_HOST_REASON", "EXIT_STARTUP_FAILED"]

EXIT_STARTUP_FAILED = 3
INSTALL_HINT = "pip install grpcio protobuf"
# How often a supervised server checks that its supervisor is still there.
SUPERVISOR_CHECK_SECONDS = 1.0

NO_HOST_REASON = (
    "the client did not open a host link (x-snakepit-host-link): this worker runs as a service "
    "(python -m snakepit_bridge.serve), and its host requests travel on the call channel of a client "
    "that opens it with that header and sends the same header on its ExecuteTool and "
    "ExecuteStreamingTool RPCs"
)

# Connections from other hosts: keepalive pings find clients that vanished without closing their
# connection (their calls are then cancelled), and clients may ping every 10 s themselves.
SERVICE_SERVER_OPTIONS: List[ServerOption] = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
]

_log = logging.getLogger("snakepit_bridge.serve")


class StartupFailed(Exception):
    pass


def _fields(**fields: Any) -> Dict[str, Any]:
    return {FIELDS_ATTRIBUTE: fields}


def _credentials(settings: ServiceSettings) -> "grpc.ServerCredentials":
    import grpc

    tls = settings.tls
    assert tls is not None
    return grpc.ssl_server_credentials(
        [(tls.key, tls.cert)],
        root_certificates=tls.client_ca,
        require_client_auth=tls.client_ca is not None,
    )


async def _watch_supervisor(pid: int, signals: "asyncio.Queue[int]") -> None:
    """A supervised server whose supervisor is gone (killed outright) drains and exits, rather than
    serving on unsupervised."""
    while True:
        await asyncio.sleep(SUPERVISOR_CHECK_SECONDS)
        if os.getppid() != pid:
            _log.warning("the supervisor (pid %d) is gone; draining", pid, extra=_fields(event="supervisor_gone"))
            signals.put_nowait(signal.SIGTERM)
            return


def _already_draining(signum: int) -> None:
    _log.info("%s again: already draining (SIGINT ends the drain at once)", signal.Signals(signum).name,
              extra=_fields(event="already_draining"))


async def serve_service(settings: ServiceSettings) -> bool:
    """Serves until SIGTERM/SIGINT, then drains. Returns False when tool threads were still busy at
    exit (the caller then exits without joining them)."""
    from ..host.access import set_no_host_reason
    from ..host.link_registry import LinkRegistry
    from ..worker.admission import Admission
    from ..worker.auth_interceptor import TokenInterceptor
    from ..worker.service import create_server
    from .token_reload import reload_tokens_on_sighup

    signals = stop_signals()
    set_no_host_reason(NO_HOST_REASON)
    mode = settings.mode
    try:
        runtime = await WorkerRuntime.start(settings.adapter, mode)
    except Exception as exc:
        raise StartupFailed(f"the adapter {settings.adapter} could not be loaded: {type(exc).__name__}: {exc}") from exc
    admission = Admission(
        mode.capacity, queue_limit=settings.admission_queue, timeout=settings.admission_timeout_ms / 1000
    )
    links = LinkRegistry(runtime.tracing, settings.max_message_bytes)
    service = runtime.service(host=None, max_message_bytes=settings.max_message_bytes, admission=admission, links=links)
    tokens = TokenInterceptor(*settings.tokens)
    server = create_server(
        service,
        tokens,
        options=message_limit_options(settings.max_message_bytes) + SERVICE_SERVER_OPTIONS,
    )
    reload_tokens_on_sighup(settings.token_file, tokens)
    address = settings.address()
    try:
        if settings.tls is not None:
            port = server.add_secure_port(address, _credentials(settings))
        else:
            port = server.add_insecure_port(address)
    except Exception as exc:  # grpcio raises RuntimeError; older ones return 0 (below)
        raise StartupFailed(f"cannot listen on {address}: {exc}") from exc
    if not port:
        raise StartupFailed(f"cannot listen on {address} (in use, or not an address of this host)")
    await server.start()
    tls = settings.tls
    _log.info(
        "serving %s on %s (%s mode, capacity %d, %s)",
        settings.adapter,
        settings.address(port),
        mode.name,
        mode.capacity,
        "mTLS" if tls is not None and tls.client_ca is not None else "TLS" if tls is not None else "plaintext",
        extra=_fields(
            event="listening",
            address=settings.address(port),
            port=port,
            pid=os.getpid(),
            mode=mode.name,
            capacity=mode.capacity,
            tls=tls is not None,
            mtls=tls is not None and tls.client_ca is not None,
            admission_queue=settings.admission_queue,
            admission_timeout_ms=settings.admission_timeout_ms,
            adapter=settings.adapter,
        ),
    )
    watcher = (
        asyncio.ensure_future(_watch_supervisor(settings.supervisor_pid, signals))
        if settings.supervisor_pid is not None
        else None
    )

    signum = await signals.get()
    if watcher is not None:
        watcher.cancel()
    started = time.monotonic()
    in_flight = service.calls_in_flight
    _log.info(
        "draining (%s): new calls are refused; %d call(s) in flight get up to %g s",
        signal.Signals(signum).name,
        in_flight,
        settings.drain_seconds,
        extra=_fields(event="draining", in_flight=in_flight, drain_seconds=settings.drain_seconds),
    )
    service.drain()
    stopping = asyncio.ensure_future(server.stop(settings.drain_seconds))
    hurry = asyncio.ensure_future(next_interrupt(signals, _already_draining))
    await asyncio.wait((stopping, hurry), return_when=asyncio.FIRST_COMPLETED)
    hurried = not stopping.done()
    if hurried:
        _log.warning("SIGINT: ending the drain now; calls still running are cancelled",
                     extra=_fields(event="drain_cut"))
        await server.stop(0)
        await stopping
    hurry.cancel()
    elapsed = time.monotonic() - started
    cut = hurried or elapsed >= settings.drain_seconds
    _log.info(
        "stopped after a drain of %.1f s%s",
        elapsed,
        "; calls still running at its end were cancelled" if cut else "",
        extra=_fields(event="stopped", drain_elapsed_ms=round(elapsed * 1000), drain_cut=cut),
    )
    await runtime.cleanup()
    return runtime.stop_threads(timeout=1.0)


def _fail_startup(message: str, exc: BaseException) -> int:
    _log.critical("startup failed: %s", message, exc_info=exc, extra=_fields(event="startup_failed"))
    print(f"snakepit_bridge.serve: startup failed: {message}", file=sys.stderr)
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    return EXIT_STARTUP_FAILED


def run_service(settings: ServiceSettings) -> int:
    """Runs one server in this process; returns the exit code (0 after a drain, 3 when it could not
    start, 1 when it crashed)."""
    for path in reversed(settings.python_path):
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        import grpc  # noqa: F401  (checked here so its absence is reported, not crashed on)
        import google.protobuf  # noqa: F401
        from snakepit.bridge.v1 import worker_pb2  # noqa: F401
    except Exception as exc:
        return _fail_startup(f"{exc} (interpreter {sys.executable}); this needs grpcio and protobuf: {INSTALL_HINT}", exc)
    try:
        clean = asyncio.run(serve_service(settings))
    except StartupFailed as exc:
        return _fail_startup(str(exc), exc.__cause__ or exc)
    except KeyboardInterrupt:
        return 0
    except BaseException as exc:
        _log.critical("the worker crashed", exc_info=exc, extra=_fields(event="crashed"))
        return 1
    if not clean:
        # A sync tool is still running in a tool thread; interpreter exit would join it.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0
