"""End to end with a host: the real worker subprocess against the fake HostService.

The fake host serves on this test's event loop, so the worker is started from a thread
(`asyncio.to_thread`): its startup waits for RegisterTools, which the loop must be free to answer.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from typing import Any, Dict, Optional

import grpc
import pytest

from fake_host import fake_host
from snakepit.bridge.v1 import worker_pb2_grpc
from support import TOKEN, decode_value, execute, make_call, run
from worker_process import SHOWCASE, Worker

HEARTBEAT = {"interval_ms": 100, "timeout_ms": 200, "max_missed": 3}


async def start_worker(address: str, heartbeat: Optional[Dict[str, Any]] = None) -> Worker:
    config = {"worker_id": "w-host", "host_address": address, "heartbeat": heartbeat or HEARTBEAT}
    return await asyncio.to_thread(Worker, SHOWCASE, config=config)


def test_tools_are_registered_once_and_host_calls_work():
    async def go():
        async with fake_host(TOKEN) as (host, address):
            worker = await start_worker(address)
            try:
                assert worker.control["event"] == "ready", worker.stderr_text()
                # Reported before readiness, so the host knows the tools when calls arrive.
                assert len(host.registered) == 1
                registered = host.registered[0]
                assert registered.worker_id == "w-host"
                names = {spec.name for spec in registered.tools}
                assert {"add", "call_host", "state_get", "stream_progress"} <= names
                # Each tool's JSON Schema (tools/schema.py), as DescribeTools reports it.
                progress = json.loads(next(spec for spec in registered.tools if spec.name == "stream_progress").parameters_json)
                assert progress["x-snakepit"]["chunk"] == {"$ref": "#/$defs/Progress"}
                host.sessions["s1"] = {}
                async with grpc.aio.insecure_channel(f"127.0.0.1:{worker.control['port']}") as channel:
                    stub = worker_pb2_grpc.WorkerServiceStub(channel)
                    for n in range(3):
                        answer = await execute(stub, make_call("call_host", name="add", args={"a": n, "b": 1}), timeout=5)
                        assert decode_value(answer.result) == n + 1
                    await execute(stub, make_call("state_set", key="k", value=[1], session_id="s1"), timeout=5)
                    answer = await execute(stub, make_call("state_get", key="k", session_id="s1"), timeout=5)
                    assert decode_value(answer.result) == [1]
                await asyncio.sleep(0.35)
                assert host.heartbeats >= 2
                assert len(host.registered) == 1, "RegisterTools must be sent once per worker, not per call"
                assert all(md["authorization"] == f"Bearer {TOKEN}" for _, md in host.calls)
                assert all(md.get("x-snakepit-correlation-id") is None for md in host.methods("Heartbeat"))
                worker.proc.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(worker.proc.wait, 5) == 0
            finally:
                worker.kill()

    run(go(), timeout=20)


@pytest.mark.parametrize("failure", ["hang", "unauthenticated"])
def test_worker_exits_by_itself_when_the_host_stops_answering(failure):
    async def go():
        async with fake_host(TOKEN) as (host, address):
            worker = await start_worker(address)
            try:
                assert worker.control["event"] == "ready", worker.stderr_text()
                await asyncio.sleep(0.3)
                assert host.heartbeats >= 1 and worker.proc.poll() is None
                host.heartbeat_mode = failure
                switched = time.monotonic()
                code = await asyncio.to_thread(worker.proc.wait, 10)
                elapsed = time.monotonic() - switched
                # At most one interval until the next beat, then max_missed beats of at most timeout_ms.
                bound = 0.1 + 3 * 0.2 + 1.0
                assert code == -signal.SIGKILL and elapsed < bound, (code, elapsed)
                logs = worker.log_lines()
                warnings = [e for e in logs if e["logger"] == "snakepit_bridge.heartbeat" and e["level"] == "warn"]
                assert len(warnings) == 3
                (lost,) = [e for e in logs if e["level"] == "error"]
                assert "the worker shuts itself down" in lost["message"] and "3 heartbeats in a row failed" in lost["message"]
            finally:
                worker.kill()

    run(go(), timeout=20)


def test_wrong_token_registration_is_logged_not_fatal_and_the_heartbeat_gives_up():
    async def go():
        async with fake_host("not-the-workers-token") as (host, address):
            worker = await start_worker(address)
            try:
                assert worker.control["event"] == "ready", worker.stderr_text()
                started = time.monotonic()
                assert await asyncio.to_thread(worker.proc.wait, 10) == -signal.SIGKILL
                # Refusals are fast, so only the intervals count: ~3 × 100 ms.
                assert time.monotonic() - started < 1.5
                assert not host.registered and len(host.methods("RegisterTools")) == 1
                warned = [e["message"] for e in worker.log_lines() if e["level"] == "warn"]
                assert "could not report this worker's tools to the host: SnakepitBridgeError [unauthenticated]" in warned[0]
                assert sum("heartbeat to the host failed" in m and "[unauthenticated]" in m for m in warned) == 3
            finally:
                worker.kill()

    run(go(), timeout=20)
