"""The heartbeat loop and config, and the strict encoding of values sent to the host."""

from __future__ import annotations

import asyncio
import math

import pytest

from snakepit_bridge.worker.control_channel import StartupError
from snakepit_bridge.worker.heartbeat import HeartbeatSettings, run_heartbeat
from snakepit_bridge.host.errors import InvalidParameterError, SessionQuotaError, UnknownHostToolError, bridge_error
from snakepit_bridge.host.payload import encode_arguments, encode_json_value
from snakepit_bridge.worker.config import WorkerConfig
from support import run

FAST = HeartbeatSettings(interval_ms=20, timeout_ms=50, max_missed=3)


def test_consecutive_failures_end_in_on_lost():
    attempts = []
    lost = []

    async def beat(timeout: float) -> None:
        attempts.append(timeout)
        raise ConnectionError("refused")

    async def go():
        started = asyncio.get_running_loop().time()
        await run_heartbeat(beat, FAST, lost.append)
        return asyncio.get_running_loop().time() - started

    elapsed = run(go())
    assert attempts == [0.05, 0.05, 0.05]
    assert len(lost) == 1 and "3 heartbeats in a row failed" in lost[0] and "ConnectionError: refused" in lost[0]
    assert 0.05 <= elapsed < 1.0


def test_a_success_resets_the_count_and_a_hung_beat_times_out():
    results = iter(["fail", "fail", "ok", "fail", "hang", "fail"])
    lost = []

    async def beat(timeout: float) -> None:
        outcome = next(results)
        if outcome == "hang":
            await asyncio.sleep(60)
        if outcome != "ok":
            raise RuntimeError(outcome)

    run(run_heartbeat(beat, FAST, lost.append))
    # fail, fail, ok (reset), fail, hang (timeout), fail → lost after the sixth beat.
    assert len(lost) == 1 and "RuntimeError: fail" in lost[0]


def test_heartbeat_keeps_going_while_the_host_answers_and_stops_when_cancelled():
    beats = []
    lost = []

    async def beat(timeout: float) -> None:
        beats.append(timeout)

    async def go():
        task = asyncio.ensure_future(run_heartbeat(beat, FAST, lost.append))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(go())
    assert 5 <= len(beats) <= 12 and not lost


def test_heartbeat_config():
    assert HeartbeatSettings.from_config(None) == HeartbeatSettings(2000, 10000, 3)
    assert HeartbeatSettings.from_config({"interval_ms": 100, "timeout_ms": 200, "max_missed": 3}) == HeartbeatSettings(100, 200, 3)
    assert HeartbeatSettings.from_config({"enabled": False}) is None
    base = b'{"token": "t", "host_address": "127.0.0.1:1", "heartbeat": %s}'
    assert WorkerConfig.from_json(base % b'{"interval_ms": 5}').heartbeat == HeartbeatSettings(5, 10000, 3)
    # Without a host there is nothing to beat to.
    assert WorkerConfig.from_json(b'{"token": "t", "heartbeat": {"interval_ms": 5}}').heartbeat is None
    for bad in (b'{"interval_ms": 0}', b'{"max_missed": -1}', b'{"timeout_ms": "1"}', b'{"timeout_ms": true}', b'[1]'):
        with pytest.raises(StartupError, match="heartbeat"):
            WorkerConfig.from_json(base % bad)


def test_values_for_the_host_are_strict_json():
    json_parameters, binary_parameters = encode_arguments(
        {"i": 1, "big": 2**70, "f": 0.5, "s": "é", "t": (1, 2), "n": None, "b": b"\x00", "ba": bytearray(b"x"), "mv": memoryview(b"y")}
    )
    assert json_parameters == {"i": b"1", "big": b"1180591620717411303424", "f": b"0.5", "s": "\"é\"".encode(),
                               "t": b"[1,2]", "n": b"null"}
    assert binary_parameters == {"b": b"\x00", "ba": b"x", "mv": b"y"}
    refusals = {
        "nan": (math.nan, "NaN"),
        "nested_bytes": ({"x": b"1"}, "bytes are only sent raw"),
        "object": ([object()], "object is not JSON"),
        "key": ({(1, 2): 1}, "keys must be"),
    }
    for key, (value, reason) in refusals.items():
        with pytest.raises(InvalidParameterError) as failure:
            encode_json_value(key, value)
        assert failure.value.details["key"] == key and reason in str(failure.value), failure.value
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(InvalidParameterError, match="Circular"):
        encode_json_value("cycle", cycle)
    assert encode_json_value("lone", "\ud800") == b'"\\ud800"'


def test_bridge_error_mapping():
    unknown = bridge_error("unknown_tool", 'unknown host tool "x"', {"tool": "x", "available": ["a", "b"]})
    assert isinstance(unknown, UnknownHostToolError) and unknown.available == ["a", "b"]
    assert "available host tools: a, b" in str(unknown)
    quota = bridge_error("global_entry_quota_exceeded", "full", {"limit": 1})
    assert isinstance(quota, SessionQuotaError) and quota.code == "global_entry_quota_exceeded"
    other = bridge_error("internal", "bug")
    assert type(other).__name__ == "SnakepitBridgeError" and other.code == "internal"
