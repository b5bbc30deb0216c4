"""Host requests on the call channel (a worker run as a service, PROTOCOL.md §13b): tools reach
the host through the call channel of the client whose call they serve, against an in-process
worker (real grpc.aio server) and a grpcio client playing the Node side (host_link_client.py),
whose host requests a FakeHostService answers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any, AsyncIterator, Dict, Iterator, List, Tuple

import grpc
import pytest

from fake_host import TOOLS, FakeHostService, fake_host
from host_link_client import NodeLink, answer_from, new_link_id
from snakepit.bridge.v1 import common_pb2, host_pb2, worker_pb2
from snakepit_bridge import HostBridgeUnavailable, SessionContext, SnakepitBridgeError, tool
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.host.access import HostAccess, set_no_host_reason
from snakepit_bridge.host.client import HostClient
from snakepit_bridge.host.link_registry import NO_LINK_CHANNEL
from snakepit_bridge.host.tunnel import HostTunnel
from snakepit_bridge.observability.tracing import NO_TRACING
from snakepit_bridge.service.runner import NO_HOST_REASON
from snakepit_bridge.type_names import qualified_type_name
from snakepit_bridge.worker.call_headers import CORRELATION_HEADER, HOST_LINK_HEADER
from support import AUTH, TOKEN, chunks_of, decode_value, error_details, execute, make_call, run, serving, stream, wait_until


class LinkProbe(ShowcaseAdapter):
    """The showcase's host tools, plus streams that read state and a probe of host exceptions."""

    @tool(supports_streaming=True)
    def state_stream(self, keys: List[str], context: SessionContext) -> Iterator[Dict[str, Any]]:
        for key in keys:
            yield {key: context.state.get(key)}

    @tool(supports_streaming=True)
    async def state_stream_async(self, keys: List[str], context: SessionContext) -> AsyncIterator[Dict[str, Any]]:
        for key in keys:
            yield {key: await context.state.get_async(key)}

    @tool
    def host_error(self, op: str, key: str, context: SessionContext) -> Dict[str, Any]:
        """The exception a state call raised: its class, code, message and details."""
        try:
            if op == "set":
                context.state.set(key, 1)
            else:
                context.state.get(key)
        except SnakepitBridgeError as exc:
            return {"type": qualified_type_name(type(exc)), "code": exc.code, "message": exc.message, "details": exc.details}
        raise AssertionError("no error")


@contextlib.asynccontextmanager
async def linked_worker(**options: Any) -> AsyncIterator[Tuple[Any, Any, FakeHostService]]:
    """A worker as `python -m snakepit_bridge.serve` runs it (host links, its no-host reason), its
    stub, and the fake host the Node side answers host requests from."""
    host = FakeHostService(TOKEN, **options)
    set_no_host_reason(NO_HOST_REASON)
    try:
        async with serving(LinkProbe(), host_links=True) as (stub, service):
            yield stub, service, host
    finally:
        set_no_host_reason(None)


def value_of(response: worker_pb2.ExecuteToolResponse) -> Any:
    assert not response.HasField("error"), response.error
    return decode_value(response.result)


def correlated(link: NodeLink, correlation_id: str) -> Any:
    return link.metadata + ((CORRELATION_HEADER, correlation_id),)


async def tunnel_of(service: Any, link: NodeLink) -> HostTunnel:
    """The tunnel of the link's latest channel, once the worker has opened it."""
    tunnels = service._links._tunnels
    assert await wait_until(lambda: link.link_id in tunnels), "the link's channel did not open"
    return tunnels[link.link_id][-1]


def test_session_state_travels_on_the_channel_for_channel_calls_rpcs_and_streams():
    async def go() -> None:
        async with linked_worker() as (stub, service, host):
            host.sessions["s1"] = {}
            link = NodeLink(stub, host)
            try:
                # A call on the channel: its host request names it.
                await link.call(1, make_call("state_set", key="k", value={"n": 1}, session_id="s1"),
                                headers={CORRELATION_HEADER: "corr-1"})
                assert value_of(await link.answer(1)) is True
                assert host.sessions["s1"]["k"] == b'{"n":1}'
                first = (await link.host_request()).host_request
                assert link.host_requests[0].call_id == 1 and first.method == "SetSessionState"
                assert dict(first.headers) == {CORRELATION_HEADER: "corr-1"} and first.timeout_ms == 0
                assert host.calls[-1][1][CORRELATION_HEADER] == "corr-1"
                await link.call(2, make_call("state_get", key="k", session_id="s1"))
                assert value_of(await link.answer(2)) == {"n": 1}

                # An RPC with the link header: call_id 0, the RPC's own correlation id.
                roundtrip = make_call("state_roundtrip_async", key="j", value=[1, 2], session_id="s1")
                assert value_of(await execute(stub, roundtrip, metadata=correlated(link, "corr-2"))) == [1, 2]
                assert [frame.call_id for frame in link.host_requests[2:]] == [0, 0]
                assert {frame.host_request.headers[CORRELATION_HEADER] for frame in link.host_requests[2:]} == {"corr-2"}

                # Streams, from a sync generator (tool thread) and an async one (the loop).
                for tool_name in ("state_stream", "state_stream_async"):
                    call = make_call(tool_name, keys=["k", "j", "missing"], session_id="s1")
                    chunks = await chunks_of(stream(stub, call, metadata=link.metadata, timeout=10))
                    assert [decode_value(chunk.data) for chunk in chunks if chunk.HasField("data")] == [
                        {"k": {"n": 1}}, {"j": [1, 2]}, {"missing": None}]
                    assert chunks[-1].is_final and not chunks[-1].HasField("error")

                await link.call(3, make_call("state_delete", key="k", session_id="s1"))
                assert value_of(await link.answer(3)) is True and "k" not in host.sessions["s1"]
                ids = [frame.host_request.request_id for frame in link.host_requests]
                assert len(ids) == 11 and len(set(ids)) == len(ids) and 0 not in ids
                assert not (await tunnel_of(service, link)).waiting
            finally:
                await link.close()

    run(go(), timeout=20)


def test_host_tools_from_sync_and_async_tools_on_the_channel_and_as_rpcs():
    async def go() -> None:
        async with linked_worker() as (stub, _, host):
            link = NodeLink(stub, host)
            try:
                await link.call(1, make_call("call_host", name="add", args={"a": 2, "b": 40}))
                assert value_of(await link.answer(1)) == 42
                whoami = make_call("call_host_async", name="whoami", session_id="sess-7")
                seen = value_of(await execute(stub, whoami, metadata=correlated(link, "corr-9")))
                assert seen == {"session_id": "sess-7", "correlation_id": "corr-9", "traceparent": None, "tracestate": None}
                binary = await execute(stub, make_call("call_host_with_bytes", name="reverse_bytes", binary={"data": b"\x00\x01\x02"}),
                                       metadata=link.metadata)
                assert binary.result.binary == b"\x02\x01\x00"
                assert host.tool_calls[-1].binary_parameters["data"] == b"\x00\x01\x02"
                await link.call(2, make_call("list_host_tools"))
                assert [entry["name"] for entry in value_of(await link.answer(2))] == list(TOOLS)
                # A host tool that threw is an in-band failure, as over gRPC.
                await link.call(3, make_call("call_host", name="explode"))
                failed = await link.answer(3)
                assert failed.error.python_type == "snakepit_bridge.host.errors.HostToolError"
                assert failed.error.message == "kaboom from node"
                assert [frame.host_request.method for frame in link.host_requests] == [
                    "ExecuteHostTool", "ExecuteHostTool", "ExecuteHostTool", "ListHostTools", "ExecuteHostTool"]
            finally:
                await link.close()

    run(go(), timeout=20)


def test_a_failed_answer_raises_what_the_grpc_host_bridge_would():
    probes = [("get", "missing-session"), ("set", "full")]

    async def through_the_channel() -> List[Dict[str, Any]]:
        async with linked_worker(max_entries_per_session=0) as (stub, _, host):
            host.sessions["full"] = {}
            link = NodeLink(stub, host)
            try:
                results = []
                for index, (op, session_id) in enumerate(probes, 1):
                    await link.call(index, make_call("host_error", op=op, key="k", session_id=session_id))
                    results.append(value_of(await link.answer(index)))
                # The answers carried statuses, codes and details, not payloads.
                answered = [frame.host_request.method for frame in link.host_requests]
                assert answered == ["GetSessionState", "SetSessionState"]
                missing = await execute(stub, make_call("state_get", key="k", session_id="missing-session"), metadata=link.metadata)
                assert missing.error.python_type == "snakepit_bridge.host.errors.SessionNotFoundError"
                assert error_details(missing.error)["host_error_code"] == "session_not_found"
                return results
            finally:
                await link.close()

    async def over_grpc() -> List[Dict[str, Any]]:
        async with fake_host(TOKEN, max_entries_per_session=0) as (host, address), \
                serving(LinkProbe(), host_address=address) as (stub, _):
            host.sessions["full"] = {}
            return [value_of(await execute(stub, make_call("host_error", op=op, key="k", session_id=session_id)))
                    for op, session_id in probes]

    tunnelled = run(through_the_channel())
    assert tunnelled == run(over_grpc())
    not_found, quota = tunnelled
    assert not_found["type"] == "snakepit_bridge.host.errors.SessionNotFoundError" and not_found["code"] == "session_not_found"
    assert not_found["details"] == {"sessionId": "missing-session"}
    assert quota["type"] == "snakepit_bridge.host.errors.SessionQuotaError"
    assert quota["code"] == "session_entry_quota_exceeded" and quota["details"]["limit"] == 0


def test_without_a_link_the_host_is_unavailable_and_says_why():
    async def go() -> None:
        async with linked_worker() as (stub, _, host):
            host.sessions["s1"] = {}
            failed = await execute(stub, make_call("state_get", key="k", session_id="s1"))
            assert failed.error.python_type == "snakepit_bridge.host.errors.HostBridgeUnavailable"
            assert "the client did not open a host link (x-snakepit-host-link)" in failed.error.message
            assert error_details(failed.error)["host_error_code"] == "host_bridge_unavailable"

            # A channel opened without the header: its calls have no link, and host answers on it are ignored.
            calls = stub.Calls(metadata=AUTH)
            await calls.write(worker_pb2.CallsRequest(host_answer=worker_pb2.HostAnswer(request_id=1)))
            await calls.write(worker_pb2.CallsRequest(call_id=1, call=worker_pb2.ChannelCall(call=make_call("call_host", name="add"))))
            answer = await calls.read()
            assert answer.call_id == 1 and "did not open a host link" in answer.response.error.message
            await calls.done_writing()
            assert await calls.read() is grpc.aio.EOF

            # The header on an RPC, but no channel of that link open.
            orphan = await execute(stub, make_call("state_get", key="k", session_id="s1"),
                                   metadata=AUTH + ((HOST_LINK_HEADER, new_link_id()),))
            assert orphan.error.python_type == "snakepit_bridge.host.errors.HostBridgeUnavailable"
            assert NO_LINK_CHANNEL in orphan.error.message
            assert host.calls == []

    run(go())


def test_a_pool_started_worker_ignores_link_headers():
    async def go() -> None:
        async with fake_host(TOKEN) as (host, address), serving(LinkProbe(), host_address=address) as (stub, _):
            seen = await execute(stub, make_call("call_host", name="add", args={"a": 1, "b": 2}),
                                 metadata=AUTH + ((HOST_LINK_HEADER, new_link_id()),))
            assert value_of(seen) == 3 and [method for method, _ in host.calls] == ["ExecuteHostTool"]

    run(go())


def test_a_channel_that_ends_fails_its_waiting_requests_and_the_worker_serves_on():
    async def go() -> None:
        async with linked_worker() as (stub, service, host):
            host.sessions["s1"] = {}
            link = NodeLink(stub, host)
            # An RPC whose host request waits on the channel when the channel breaks.
            waiting = asyncio.ensure_future(execute(stub, make_call("call_host", name="hang"), metadata=link.metadata, timeout=10))
            await link.host_request()
            await link.close()
            failed = await waiting
            assert failed.error.python_type == "snakepit_bridge.host.errors.HostBridgeUnavailable"
            assert "UNAVAILABLE" in failed.error.message and "call channel" in failed.error.message

            # The client reopens its channel with the same link: the worker serves it as before. A
            # request made before the channel is open waits for it.
            pending = asyncio.ensure_future(execute(stub, make_call("state_set", key="k", value=1, session_id="s1"),
                                                    metadata=link.metadata, timeout=10))
            await asyncio.sleep(0.05)
            again = NodeLink(stub, host, link.link_id)
            try:
                assert value_of(await pending) is True
                # A client that half-closes its channel can send no more answers: the call waiting
                # on one fails, is answered, and the channel ends.
                await again.call(1, make_call("call_host_async", name="hang"))
                await again.host_request(2)
                await again.rpc.done_writing()
                half_closed = await again.answer(1)
                assert half_closed.error.python_type == "snakepit_bridge.host.errors.HostBridgeUnavailable"
                assert "closed the call channel" in half_closed.error.message
                assert await again.end() is None
                assert service._links._tunnels == {}
            finally:
                await again.close()

    run(go(), timeout=20)


def test_cancelling_a_call_cancels_its_waiting_host_request_and_its_late_answer_is_ignored():
    async def go() -> None:
        async with linked_worker() as (stub, service, host):
            link = NodeLink(stub, host, answering=False)
            try:
                tunnel = await tunnel_of(service, link)
                # Sync (a tool thread blocked in run_blocking) and async tools on the channel.
                for call_id, tool_name in ((1, "call_host"), (2, "call_host_async")):
                    await link.call(call_id, make_call(tool_name, name="add", args={"a": 1, "b": 1}))
                    request = (await link.host_request(call_id)).host_request
                    assert tunnel.waiting
                    await link.cancel(call_id)
                    assert await wait_until(lambda: not tunnel.waiting)
                    late = worker_pb2.HostAnswer(request_id=request.request_id, payload=b"")
                    await link.send(worker_pb2.CallsRequest(host_answer=late))
                # An RPC the client cancels.
                rpc = execute(stub, make_call("call_host", name="add"), metadata=link.metadata, timeout=10)
                await link.host_request(3)
                rpc.cancel()
                assert await wait_until(lambda: not tunnel.waiting)
                # The channel serves on; the cancelled calls never answered.
                link.answering = True
                await link.call(4, make_call("call_host", name="add", args={"a": 2, "b": 3}))
                assert value_of(await link.answer(4)) == 5
                assert link.answers == {}
            finally:
                await link.close()

    run(go(), timeout=20)


def test_unknown_request_ids_are_ignored_and_a_malformed_payload_fails_only_its_request():
    async def go() -> None:
        async with linked_worker() as (stub, _, host):
            host.sessions["s1"] = {"k": b"7"}
            link = NodeLink(stub, host)
            try:
                for request_id in (0, 12345):
                    await link.send(worker_pb2.CallsRequest(host_answer=worker_pb2.HostAnswer(request_id=request_id, payload=b"x")))
                await link.call(1, make_call("state_get", key="k", session_id="s1"))
                assert value_of(await link.answer(1)) == 7

                async def corrupt(request: worker_pb2.HostRequest) -> worker_pb2.HostAnswer:
                    return worker_pb2.HostAnswer(request_id=request.request_id, payload=b"\xff\xff\xff\xff")

                link.answer_with = corrupt
                await link.call(2, make_call("host_error", op="get", key="k", session_id="s1"))
                broken = value_of(await link.answer(2))
                assert broken["type"] == "snakepit_bridge.host.errors.SnakepitBridgeError" and broken["code"] == "internal"
                assert "GetSessionState" in broken["message"] and broken["details"] == {"grpc_status": "INTERNAL"}
                link.answer_with = functools.partial(answer_from, host)
                await link.call(3, make_call("state_get", key="k", session_id="s1"))
                assert value_of(await link.answer(3)) == 7
            finally:
                await link.close()

    run(go())


def test_each_client_gets_the_host_requests_of_its_own_calls_only():
    async def go() -> None:
        async with linked_worker() as (stub, service, host):
            first, second = NodeLink(stub, host), NodeLink(stub, host)
            try:
                async def whoami(link: NodeLink, name: str, index: int) -> str:
                    correlation_id = f"{name}-{index}"
                    call = make_call("call_host_async" if index % 2 else "call_host", name="whoami")
                    if index % 3:
                        response = await execute(stub, call, metadata=correlated(link, correlation_id))
                    else:
                        await link.call(index, call, headers={CORRELATION_HEADER: correlation_id})
                        response = await link.answer(index)
                    return str(value_of(response)["correlation_id"])

                results = await asyncio.gather(*(whoami(link, name, index) for index in range(1, 13)
                                                 for link, name in ((first, "first"), (second, "second"))))
                assert sorted(results) == sorted(f"{name}-{index}" for index in range(1, 13) for name in ("first", "second"))
                for link, name in ((first, "first"), (second, "second")):
                    seen = sorted(frame.host_request.headers[CORRELATION_HEADER] for frame in link.host_requests)
                    assert seen == sorted(f"{name}-{index}" for index in range(1, 13))

                # A client that opens a new channel with its link: the link's RPCs now use the new
                # one; the old one still carries its own calls' requests.
                replaced = await tunnel_of(service, first)
                replacement = NodeLink(stub, host, first.link_id)
                try:
                    assert await wait_until(lambda: service._links._tunnels[first.link_id][-1] is not replaced)
                    await execute(stub, make_call("call_host", name="whoami"), metadata=correlated(first, "rpc"))
                    await first.call(50, make_call("call_host", name="whoami"), headers={CORRELATION_HEADER: "old"})
                    await first.answer(50)
                    assert [frame.host_request.headers[CORRELATION_HEADER] for frame in replacement.host_requests] == ["rpc"]
                    assert first.host_requests[-1].host_request.headers[CORRELATION_HEADER] == "old"
                finally:
                    await replacement.close()
                # The newest channel ended first: the link's RPCs go back to the one still open.
                assert await wait_until(lambda: service._links._tunnels[first.link_id] == [replaced])
                await execute(stub, make_call("call_host", name="whoami"), metadata=correlated(first, "back"))
                assert first.host_requests[-1].host_request.headers[CORRELATION_HEADER] == "back"
            finally:
                await first.close()
                await second.close()

    run(go(), timeout=20)


def test_a_draining_channel_stays_open_while_a_host_request_waits_on_it():
    async def go() -> None:
        async with linked_worker() as (stub, service, host):
            link = NodeLink(stub, host, answering=False)
            try:
                rpc = asyncio.ensure_future(execute(stub, make_call("call_host", name="add", args={"a": 4, "b": 5}),
                                                    metadata=link.metadata, timeout=10))
                request = (await link.host_request()).host_request
                service.drain()
                await asyncio.sleep(0.1)
                assert not link._reader.done()  # still open: the answer is to come on it
                await link.send(worker_pb2.CallsRequest(host_answer=await answer_from(host, request)))
                assert value_of(await rpc) == 9
                ended = await link.end()
                assert ended is not None and ended.code() == grpc.StatusCode.UNAVAILABLE
            finally:
                await link.close()

    run(go())


def test_the_tunnel_times_out_wraps_its_request_ids_and_refuses_oversized_requests():
    async def go() -> None:
        loop = asyncio.get_running_loop()
        posted: List[worker_pb2.CallsResponse] = []
        closed: List[HostTunnel] = []
        tunnel = HostTunnel(posted.append, bind=lambda caller: HostAccess(HostClient(caller), loop, NO_TRACING),
                            max_request_bytes=200, on_settled=lambda: None, on_close=closed.append)
        client = HostClient(functools.partial(tunnel.request, 7))
        # A request with a timeout carries it, and stops waiting when it runs out.
        with pytest.raises(HostBridgeUnavailable) as late:
            await client.heartbeat("w1", timeout=0.05)
        assert "DEADLINE_EXCEEDED" in late.value.message and late.value.details == {"grpc_status": "DEADLINE_EXCEEDED"}
        assert posted[0].call_id == 7 and posted[0].host_request.timeout_ms == 50 and not tunnel.waiting
        # Too big for the channel: not sent.
        with pytest.raises(SnakepitBridgeError) as big:
            await client.list_tools("x" * 300, [])
        assert big.value.code == "internal" and big.value.details == {"grpc_status": "RESOURCE_EXHAUSTED"}
        assert len(posted) == 1
        # Ids wrap at 2**32, skipping 0 and ids still waiting; answers reach their own request.
        tunnel._last_id = 0xFFFFFFFE
        listing = [asyncio.ensure_future(client.list_tools(f"s{index}", [])) for index in range(2)]
        await asyncio.sleep(0)
        assert [frame.host_request.request_id for frame in posted[1:]] == [0xFFFFFFFF, 1]
        tunnel._last_id = 0
        third = asyncio.ensure_future(client.list_tools("s2", []))
        await asyncio.sleep(0)
        assert posted[-1].host_request.request_id == 2
        for request_id, name in ((1, "one"), (0xFFFFFFFF, "last")):
            payload = host_pb2.ListHostToolsResponse(tools=[common_pb2.ToolSpec(name=name)]).SerializeToString()
            tunnel.answer(worker_pb2.HostAnswer(request_id=request_id, payload=payload))
        assert [[tool["name"] for tool in await task] for task in listing] == [["last"], ["one"]]
        # Closing fails what waits and whatever comes later, once.
        tunnel.close("gone")
        tunnel.close("again")
        with pytest.raises(HostBridgeUnavailable, match="UNAVAILABLE: gone"):
            await third
        with pytest.raises(HostBridgeUnavailable, match="UNAVAILABLE: gone"):
            await client.list_tools(None, [])
        assert closed == [tunnel]

    run(go())
