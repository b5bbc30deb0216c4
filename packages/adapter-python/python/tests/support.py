"""Shared helpers for the bridge tests. No pytest-asyncio: async tests use asyncio.run."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
from typing import Any, AsyncIterable, AsyncIterator, Dict, Iterator, List, Optional, Sequence, Tuple

from snakepit.bridge.v1 import common_pb2, worker_pb2
from snakepit_bridge.observability.logging_setup import configure_logging
from snakepit_bridge.tools.threads import ToolThreads
from snakepit_bridge.worker.mode import PROCESS_MODE_HOLD_LOOP_SECONDS

# The folder holding snakepit_bridge and snakepit/ (put on PYTHONPATH of spawned workers).
PYTHON_ROOT_FOR_SUBPROCESS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Adapter modules that spawned workers import by name (put on their PYTHONPATH when needed).
FIXTURES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

TOKEN = "test-token"
AUTH = (("authorization", f"Bearer {TOKEN}"),)


def make_call(
    tool_name: str,
    *,
    session_id: str = "",
    binary: Optional[Dict[str, bytes]] = None,
    raw_json: Optional[Dict[str, bytes]] = None,
    metadata: Optional[Dict[str, str]] = None,
    **arguments: Any,
) -> common_pb2.ToolCall:
    json_parameters = {key: json.dumps(value).encode("utf-8") for key, value in arguments.items()}
    json_parameters.update(raw_json or {})
    return common_pb2.ToolCall(
        tool_name=tool_name,
        session_id=session_id,
        json_parameters=json_parameters,
        binary_parameters=binary or {},
        metadata=metadata or {},
    )


def decode_value(value: common_pb2.ToolValue) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "binary":
        return value.binary
    if kind == "json":
        return json.loads(value.json.decode("utf-8"))
    raise AssertionError("ToolValue has no kind set")


def error_details(error: common_pb2.ToolError) -> Dict[str, Any]:
    return json.loads(error.details_json.decode("utf-8"))


def run(coro: Any, timeout: float = 10.0) -> Any:
    """asyncio.run with a hard timeout, so a bug cannot hang the suite."""

    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def new_executor(hold_loop: float = PROCESS_MODE_HOLD_LOOP_SECONDS) -> ToolThreads:
    """The executor the worker uses (server.py), with 4 threads; by default it holds the loop for
    quick calls as in process mode."""
    return ToolThreads(max_workers=4, thread_name_prefix="snakepit-tool", hold_loop=hold_loop)


async def wait_until(predicate: Any, timeout: float = 2.0, interval: float = 0.01) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return bool(predicate())


async def stable(measure: Any, quiet: float = 0.3, timeout: float = 10.0) -> Any:
    """Waits until `measure()` stops changing for `quiet` seconds and returns its value. Asserting
    that nothing more happens (a producer has stalled) needs a quiet period: no event says so."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = measure()
    while loop.time() < deadline:
        await asyncio.sleep(quiet)
        now = measure()
        if now == last:
            return now
        last = now
    raise AssertionError(f"still changing after {timeout} s: {last!r}")


@contextlib.asynccontextmanager
async def serving(
    adapter: Any,
    *,
    token: str = TOKEN,
    host_address: Optional[str] = None,
    tracing: Any = None,
    monitor: Any = None,
    admission_limit: Optional[int] = None,
    hold_loop: Optional[float] = None,
    channel_options: Sequence[Tuple[str, Any]] = (),
    max_message_bytes: Optional[int] = None,
    host_links: bool = False,
) -> AsyncIterator[Tuple[Any, Any]]:
    """An in-process grpc.aio server for `adapter` and a stub connected to it, built like the
    worker's (`create_server`: the token interceptor in front of the servicer).

    With `host_address`, tools reach that host bridge through their SessionContext. With
    `host_links`, as a worker run as a service: calls reach the host through their client's host
    link (`x-snakepit-host-link`), on its call channel (an RPC's host request waits 0.3 s at most
    for a channel of its link to open).
    `channel_options` are the client channel's grpc options. `max_message_bytes` sets the
    server's send limit, as the worker sets it from its configuration.
    """
    import grpc

    from snakepit.bridge.v1 import worker_pb2_grpc
    from snakepit_bridge.tools.dispatch import Dispatcher
    from snakepit_bridge.host.access import HostAccess
    from snakepit_bridge.host.client import HostClient
    from snakepit_bridge.host.grpc_caller import GrpcHostCaller
    from snakepit_bridge.host.link_registry import LinkRegistry
    from snakepit_bridge.observability.tracing import NO_TRACING
    from snakepit_bridge.worker.info import collect_worker_info
    from snakepit_bridge.worker.service import WorkerService, create_server

    tracing = tracing or NO_TRACING
    # Threaded mode (an admission limit) never holds the loop; process mode does.
    if hold_loop is None:
        hold_loop = 0.0 if admission_limit else PROCESS_MODE_HOLD_LOOP_SECONDS
    executor = new_executor(hold_loop)
    dispatcher = Dispatcher(adapter, executor, monitor=monitor)
    caller = GrpcHostCaller(host_address, token, max_message_bytes=64 * 1024 * 1024) if host_address else None
    host = HostAccess(HostClient(caller), asyncio.get_running_loop(), tracing) if caller is not None else None
    info = worker_pb2.WorkerInfo(**collect_worker_info(mode="process", capacity=1, adapter="tests.Adapter"))
    links = LinkRegistry(tracing, max_message_bytes or 64 * 1024 * 1024, channel_wait_seconds=0.3) if host_links else None
    service = WorkerService(adapter=adapter, dispatcher=dispatcher, info=info, host=host, tracing=tracing,
                            admission_limit=admission_limit, max_message_bytes=max_message_bytes, links=links)
    limits = [("grpc.max_send_message_length", max_message_bytes)] if max_message_bytes else []
    server = create_server(service, token, options=limits)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=list(channel_options))
    try:
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        stub.channel = channel  # for calls the stub has no method for
        yield stub, service
    finally:
        await channel.close()
        await server.stop(0)
        if caller is not None:
            await caller.close()
        executor.shutdown(wait=False, cancel_futures=True)


def execute(stub: Any, call: common_pb2.ToolCall, metadata: Any = AUTH, **kwargs: Any) -> Any:
    return stub.ExecuteTool(worker_pb2.ExecuteToolRequest(call=call), metadata=metadata, **kwargs)


def stream(stub: Any, call: common_pb2.ToolCall, metadata: Any = AUTH, **kwargs: Any) -> Any:
    return stub.ExecuteStreamingTool(worker_pb2.ExecuteStreamingToolRequest(call=call), metadata=metadata, **kwargs)


async def chunks_of(messages: AsyncIterable[Any]) -> List[Any]:
    """The chunks of a stream's messages, in order (each message carries the chunks that were ready)."""
    return [chunk async for message in messages for chunk in message.chunks]


@contextlib.contextmanager
def captured_logging(level: str = "debug") -> Iterator[io.StringIO]:
    """The worker's JSON log lines at `level`, in a stream; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(level, stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
