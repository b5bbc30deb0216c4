"""Shared helpers for the bridge tests. No pytest-asyncio: async tests use asyncio.run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Dict, Optional, Tuple

from snakepit.bridge.v1 import common_pb2, worker_pb2

# The folder holding snakepit_bridge and snakepit/ (put on PYTHONPATH of spawned workers).
PYTHON_ROOT_FOR_SUBPROCESS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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


def new_executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="snakepit-tool")


async def wait_until(predicate: Any, timeout: float = 2.0, interval: float = 0.01) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return bool(predicate())


@contextlib.asynccontextmanager
async def serving(adapter: Any, *, token: str = TOKEN) -> AsyncIterator[Tuple[Any, Any]]:
    """An in-process grpc.aio server for `adapter` and a stub connected to it."""
    import grpc

    from snakepit.bridge.v1 import worker_pb2_grpc
    from snakepit_bridge.dispatch import Dispatcher
    from snakepit_bridge.worker_info import collect_worker_info
    from snakepit_bridge.worker_service import WorkerService

    executor = new_executor()
    dispatcher = Dispatcher(adapter, executor)
    info = worker_pb2.WorkerInfo(**collect_worker_info(mode="process", capacity=1, adapter="tests.Adapter"))
    service = WorkerService(adapter=adapter, dispatcher=dispatcher, token=token, info=info)
    server = grpc.aio.server()
    worker_pb2_grpc.add_WorkerServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield worker_pb2_grpc.WorkerServiceStub(channel), service
    finally:
        await channel.close()
        await server.stop(0)
        executor.shutdown(wait=False, cancel_futures=True)
