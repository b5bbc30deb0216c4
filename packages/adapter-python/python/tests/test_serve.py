"""`python -m snakepit_bridge.serve`: a worker run as a service, as real subprocesses driven by real
gRPC clients — tokens (several per token file, read again on SIGHUP), the refusal to listen
beyond loopback in the clear, TLS and mTLS with certificates made by `openssl`, `--workers` with
restarts, the SIGTERM drain, capacity enforced across clients (`worker_busy`), clients that go
away mid-call, and host requests on a client's host link. Plus the pieces in process: settings
and the admission queue."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import grpc
import pytest

from fake_host import FakeHostService
from host_link_client import NodeLink
from snakepit.bridge.v1 import common_pb2, worker_pb2, worker_pb2_grpc
from snakepit_bridge.error_codes import code_name
from snakepit_bridge.service.settings import (
    ADMISSION_QUEUE_PER_SLOT,
    DEFAULT_ADMISSION_TIMEOUT_MS,
    DEFAULT_DRAIN_SECONDS,
    SettingsError,
    child_arguments,
    parse_settings,
    read_token_file,
)
from snakepit_bridge.worker.admission import Admission, WorkerBusy
from support import FIXTURES_DIR, PYTHON_ROOT_FOR_SUBPROCESS, TOKEN, decode_value, error_details, make_call, run

SHOWCASE = "snakepit_bridge.adapters.showcase.ShowcaseAdapter"
THREADED = "snakepit_bridge.adapters.showcase_threaded.ThreadedShowcaseAdapter"
OVERLAP = "overlap_adapter.OverlapAdapter"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
# Each client its own connection (grpc would otherwise share one between channels to one address).
OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)
BASE_ENV = dict(os.environ, PYTHONPATH=PYTHON_ROOT_FOR_SUBPROCESS)
BASE_ENV.pop("SNAKEPIT_TOKEN", None)


# -- a service process -------------------------------------------------------------------------


class Service:
    """`python -m snakepit_bridge.serve` with its stdout's JSON lines collected as they arrive.
    stdin is closed at once: the service must not care."""

    def __init__(self, *args: str, adapter: str = SHOWCASE, token_env: Optional[str] = TOKEN,
                 wait: bool = True) -> None:
        env = dict(BASE_ENV)
        if token_env is not None:
            env["SNAKEPIT_TOKEN"] = token_env
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "snakepit_bridge.serve", "--adapter", adapter, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.lines: List[Dict[str, Any]] = []
        self.raw: List[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = self.listening()["port"] if wait else 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            text = raw.decode("utf-8", "replace").rstrip("\n")
            with self._changed:
                self.raw.append(text)
                if text.startswith('{"snakepit":'):
                    self.lines.append(json.loads(text))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[Dict[str, Any]], bool], timeout: float = 10.0, count: int = 1,
                 ) -> Dict[str, Any]:
        """The `count`-th log line matching `predicate`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = [line for line in self.lines if predicate(line)]
                if len(matches) >= count:
                    return matches[count - 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no such log line; stdout: {self.raw[-20:]}, stderr: {self.stderr_text()[-2000:]}")
                self._changed.wait(min(remaining, 0.1))

    def event(self, name: str, timeout: float = 10.0, count: int = 1, **fields: Any) -> Dict[str, Any]:
        return self.wait_for(lambda line: line.get("event") == name and all(line.get(k) == v for k, v in fields.items()),
                             timeout, count)

    def listening(self, timeout: float = 15.0) -> Dict[str, Any]:
        return self.event("listening", timeout)

    def calls_started(self, tool: str, count: int, timeout: float = 10.0) -> None:
        """Waits for `count` "call start" debug lines of `tool` (needs --log-level debug)."""
        self.wait_for(lambda line: line.get("message") == f"call start: {tool}", timeout, count)

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def terminate(self, timeout: float = 10.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(5)
        self.stderr.close()


@contextlib.contextmanager
def service(*args: str, **kwargs: Any) -> Iterator[Service]:
    started = Service(*args, **kwargs)
    try:
        yield started
    finally:
        started.close()


def refused(*args: str, token_env: Optional[str] = TOKEN) -> Tuple[int, str, str]:
    env = dict(BASE_ENV)
    if token_env is not None:
        env["SNAKEPIT_TOKEN"] = token_env
    done = subprocess.run([sys.executable, "-m", "snakepit_bridge.serve", "--adapter", SHOWCASE, *args],
                          stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=20)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


# -- clients -----------------------------------------------------------------------------------


def stub_of(channel: grpc.aio.Channel) -> Any:
    return worker_pb2_grpc.WorkerServiceStub(channel)


def plain(port: int) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=OWN_CONNECTION)


async def execute(stub: Any, call: common_pb2.ToolCall, metadata: Any = AUTH, timeout: float = 10) -> Any:
    return await stub.ExecuteTool(worker_pb2.ExecuteToolRequest(call=call), metadata=metadata, timeout=timeout)


async def value_of(stub: Any, tool: str, **arguments: Any) -> Any:
    response = await execute(stub, make_call(tool, **arguments))
    assert not response.HasField("error"), response.error
    return decode_value(response.result)


def trailers(error: grpc.aio.AioRpcError) -> Dict[str, Any]:
    return {key: value for key, value in (error.trailing_metadata() or ())}


def assert_busy_status(error: grpc.aio.AioRpcError, reason: str) -> None:
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
    found = trailers(error)
    assert found["snakepit-error-code"] == "worker_busy"
    details = json.loads(found["snakepit-error-details-bin"])
    assert details["reason"] == reason, details
    assert "did not run" in error.details()


def assert_busy_answer(response: worker_pb2.ExecuteToolResponse, reason: str) -> Dict[str, Any]:
    assert code_name(response.error.code) == "worker_busy", response
    details = error_details(response.error)
    assert details["reason"] == reason, details
    return details


class Channel:
    """A `Calls` stream: `call(id, ToolCall)`, answers read by call id."""

    def __init__(self, stub: Any) -> None:
        self.rpc = stub.Calls(metadata=AUTH)
        self.answers: Dict[int, worker_pb2.ExecuteToolResponse] = {}
        self._writing = asyncio.Lock()  # one write at a time on a stream
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> Optional[grpc.aio.AioRpcError]:
        try:
            async for answer in self.rpc:
                self.answers[answer.call_id] = answer.response
        except grpc.aio.AioRpcError as error:
            return error
        return None

    async def call(self, call_id: int, call: common_pb2.ToolCall, timeout_ms: int = 10_000) -> None:
        async with self._writing:
            await self.rpc.write(worker_pb2.CallsRequest(call_id=call_id, call=worker_pb2.ChannelCall(call=call, timeout_ms=timeout_ms)))

    async def answer(self, call_id: int, timeout: float = 10.0) -> worker_pb2.ExecuteToolResponse:
        deadline = asyncio.get_running_loop().time() + timeout
        while call_id not in self.answers:
            assert not self._reader.done(), f"the channel ended: {self._reader.result()}"
            assert asyncio.get_running_loop().time() < deadline, f"no answer for call {call_id}"
            await asyncio.sleep(0.01)
        return self.answers[call_id]

    async def end(self, timeout: float = 10.0) -> Optional[grpc.aio.AioRpcError]:
        """How the channel ended: None (OK) or the RPC's error."""
        return await asyncio.wait_for(asyncio.shield(self._reader), timeout)


# -- certificates ------------------------------------------------------------------------------


def _openssl(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _ca(folder: str, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN=snakepit test {name}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=folder)


def _leaf(folder: str, name: str, ca: str, extensions: str) -> None:
    with open(os.path.join(folder, f"{name}.ext"), "w") as handle:
        handle.write(extensions)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=folder)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=folder)


@pytest.fixture(scope="module")
def certs() -> Iterator[Dict[str, str]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tempfile.mkdtemp(prefix="snakepit-tls-")
    try:
        _ca(folder, "ca")
        _ca(folder, "other-ca")
        _leaf(folder, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        _leaf(folder, "client", "ca", "extendedKeyUsage=clientAuth\n")
        _leaf(folder, "stranger", "other-ca", "extendedKeyUsage=clientAuth\n")
        token_file = os.path.join(folder, "token")
        with open(token_file, "w") as handle:
            handle.write(TOKEN + "\n")
        os.chmod(token_file, 0o600)
        paths = {name: os.path.join(folder, name) for name in os.listdir(folder)}
        yield paths
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


# -- settings and admission, in process --------------------------------------------------------


def test_settings_defaults_and_child_arguments(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("  s3cret\n")
    token_file.chmod(0o644)
    settings = parse_settings(["--adapter", SHOWCASE, "--listen", "127.0.0.1:7000", "--workers", "3",
                               "--token-file", str(token_file), "--python-path", str(tmp_path)], environ={})
    assert settings.tokens == ("s3cret",) and settings.workers == 3 and settings.supervised and settings.mode.capacity == 1
    assert settings.drain_seconds == DEFAULT_DRAIN_SECONDS == 30
    assert settings.admission_queue == ADMISSION_QUEUE_PER_SLOT == 4  # 4 places per call slot, capacity 1
    assert settings.admission_timeout_ms == DEFAULT_ADMISSION_TIMEOUT_MS
    assert any("can be read by other users" in warning for warning in settings.warnings)
    child = child_arguments(settings, 7002, 1234)
    assert child[child.index("--listen") + 1] == "127.0.0.1:7002" and "--workers" not in child
    assert "s3cret" not in " ".join(child) and child[child.index("--token-file") + 1] == str(token_file)
    threaded = parse_settings(["--adapter", THREADED, "--listen", "[::1]:0", "--mode", "threaded", "--threads", "3"],
                              environ={"SNAKEPIT_TOKEN": "t"})
    assert threaded.address() == "[::1]:0" and threaded.loopback and threaded.mode.capacity == 3
    for argv, reason in (
        (["--listen", "127.0.0.1:0", "--workers", "2"], "needs a fixed port"),
        (["--listen", "::1:80"], "brackets"),
        (["--listen", "127.0.0.1:80", "--threads", "2"], "--threads only applies"),
        (["--listen", "127.0.0.1:80", "--tls-cert", str(token_file)], "go together"),
        (["--listen", "127.0.0.1:80", "--tls-client-ca", str(token_file)], "needs --tls-cert"),
        (["--listen", "127.0.0.1:80", "--tls-cert", str(token_file), "--tls-key", str(token_file)], "not a PEM file"),
    ):
        with pytest.raises(SettingsError, match=reason):
            parse_settings(["--adapter", SHOWCASE, *argv], environ={"SNAKEPIT_TOKEN": "t"})


def test_a_token_file_holds_one_token_per_line(tmp_path):
    token_file = tmp_path / "tokens"
    token_file.write_text("first\n\n   second  \r\nfirst\n")
    argv = ["--adapter", SHOWCASE, "--listen", "127.0.0.1:7000", "--token-file", str(token_file)]
    assert parse_settings(argv, environ={"SNAKEPIT_TOKEN": "ignored"}).tokens == ("first", "second")
    assert parse_settings(argv[:4], environ={"SNAKEPIT_TOKEN": " one "}).tokens == ("one",)
    token_file.write_text("fine\nnot a token\n")
    with pytest.raises(SettingsError, match="line 2 of --token-file") as bad:
        parse_settings(argv, environ={})
    assert "not a token" not in str(bad.value)  # a line is named, never shown
    token_file.write_text("\n \n")
    assert read_token_file(str(token_file)) == ()
    with pytest.raises(SettingsError, match="refusing to serve without a token"):
        parse_settings(argv, environ={})


def test_admission_queues_in_order_times_out_and_refuses():
    async def scenario() -> None:
        admission = Admission(1, queue_limit=2, timeout=0.2)
        assert admission.try_acquire() and not admission.try_acquire()
        order: List[str] = []

        async def take(name: str) -> None:
            await admission.wait()
            order.append(name)
            await asyncio.sleep(0.01)
            admission.release()

        first, second = asyncio.ensure_future(take("a")), asyncio.ensure_future(take("b"))
        await asyncio.sleep(0)
        assert admission.queued == 2
        with pytest.raises(WorkerBusy) as full:
            await admission.wait()  # the queue is full: refused at once
        assert full.value.details["reason"] == "capacity"
        admission.release()
        await asyncio.gather(first, second)
        assert order == ["a", "b"] and admission.in_use == 0

        assert admission.try_acquire()
        started = time.monotonic()
        with pytest.raises(WorkerBusy) as late:
            await admission.wait()
        assert late.value.details["reason"] == "queue_timeout" and 0.15 < time.monotonic() - started < 1
        cancelled = asyncio.ensure_future(admission.wait())
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.sleep(0)
        assert admission.queued == 0
        waiting = asyncio.ensure_future(admission.wait())
        await asyncio.sleep(0)
        admission.close()
        with pytest.raises(WorkerBusy) as draining:
            await waiting
        assert draining.value.details["reason"] == "draining" and not admission.try_acquire()
        admission.release()

    run(scenario())


# -- refusals ----------------------------------------------------------------------------------


def test_refuses_to_listen_beyond_loopback_without_tls_and_token(certs):
    code, out, err = refused("--listen", "0.0.0.0:0")
    assert code == 2 and out == ""
    assert "refusing to listen on 0.0.0.0:0 without TLS" in err and "clear text" in err and "--tls-cert" in err
    code, out, err = refused("--listen", "0.0.0.0:0", "--tls-cert", certs["server.crt"], "--tls-key",
                             certs["server.key"], token_env=None)
    assert code == 2 and "without a token" in err and "SNAKEPIT_TOKEN" in err
    code, out, err = refused("--listen", "127.0.0.1:0", token_env=None)
    assert code == 2 and "refusing to serve without a token" in err
    # Settings accepted, adapter broken: startup fails with exit code 3, logged on stdout too.
    code, out, err = refused("--listen", "127.0.0.1:0", "--python-path", FIXTURES_DIR, "--adapter", "broken_import.Nope")
    assert code == 3 and "broken on purpose" in err
    assert json.loads(out.splitlines()[-1])["event"] == "startup_failed"


# -- serving -----------------------------------------------------------------------------------


def test_plaintext_loopback_with_token_serves_every_rpc():
    with service("--listen", "127.0.0.1:0") as server:
        listening = server.listening()
        assert listening["level"] == "info" and listening["pid"] == server.proc.pid
        assert listening["mode"] == "process" and listening["capacity"] == 1 and listening["tls"] is False

        async def exercise() -> None:
            async with plain(server.port) as channel:
                stub = stub_of(channel)
                pong = await stub.Ping(worker_pb2.PingRequest(message="hi"), metadata=AUTH, timeout=5)
                # How a client learns the worker's capacity: WorkerInfo in every Ping answer.
                assert pong.message == "hi" and pong.info.capacity == 1 and pong.info.mode == "process"
                assert pong.info.pid == server.proc.pid
                assert await value_of(stub, "add", a=20, b=22) == 42
                request = worker_pb2.ExecuteStreamingToolRequest(call=make_call("stream_values", values=[1, 2]))
                chunks = [chunk async for message in stub.ExecuteStreamingTool(request, metadata=AUTH, timeout=5)
                          for chunk in message.chunks]
                assert [chunk.is_final for chunk in chunks] == [False, False, True]
                calls = Channel(stub)
                await calls.call(1, make_call("add", a=1, b=2))
                assert decode_value((await calls.answer(1)).result) == 3
                await calls.rpc.done_writing()
                assert await calls.end() is None
                tools = await stub.DescribeTools(worker_pb2.DescribeToolsRequest(), metadata=AUTH, timeout=5)
                assert "add" in {spec.name for spec in tools.tools}
                # No host bridge to dial in this mode: without a host link, the message says why.
                failed = await execute(stub, make_call("call_host", name="anything"))
                assert error_details(failed.error)["host_error_code"] == "host_bridge_unavailable"
                assert "did not open a host link (x-snakepit-host-link)" in failed.error.message
                assert "runs as a service" in failed.error.message and "call channel" in failed.error.message
                for metadata in ((), (("authorization", "Bearer wrong"),)):
                    with pytest.raises(grpc.aio.AioRpcError) as failure:
                        await stub.Ping(worker_pb2.PingRequest(), metadata=metadata, timeout=5)
                    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED

        run(exercise())
        assert server.proc.poll() is None  # stdin was closed at start: no watchdog in this mode
        assert server.terminate() == 0
        server.event("stopped")
        assert all(line["snakepit"] == "log" for line in server.lines) and server.stderr_text() == ""


def test_tls_and_mtls_accept_the_right_clients_only(certs):
    server_files = ["--tls-cert", certs["server.crt"], "--tls-key", certs["server.key"], "--token-file", certs["token"]]
    ca, other_ca = read(certs["ca.crt"]), read(certs["other-ca.crt"])
    client = {"private_key": read(certs["client.key"]), "certificate_chain": read(certs["client.crt"])}
    stranger = {"private_key": read(certs["stranger.key"]), "certificate_chain": read(certs["stranger.crt"])}

    async def ping(port: int, credentials: Optional[grpc.ChannelCredentials], metadata: Any = AUTH,
                   host: str = "127.0.0.1") -> worker_pb2.PingResponse:
        target = f"{host}:{port}"
        channel = (grpc.aio.secure_channel(target, credentials, options=OWN_CONNECTION) if credentials is not None
                   else grpc.aio.insecure_channel(target, options=OWN_CONNECTION))
        async with channel:
            return await stub_of(channel).Ping(worker_pb2.PingRequest(message="tls"), metadata=metadata, timeout=5)

    async def refused_with(code: grpc.StatusCode, *args: Any, **kwargs: Any) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await ping(*args, **kwargs)
        assert failure.value.code() == code, failure.value

    # TLS, listening on every interface (allowed: TLS and a token), dialled on loopback.
    with service("--listen", "0.0.0.0:0", *server_files, token_env=None) as tls_only, \
            service("--listen", "127.0.0.1:0", *server_files, "--tls-client-ca", certs["ca.crt"], token_env=None) as mtls:
        assert tls_only.listening()["tls"] is True and mtls.listening()["mtls"] is True

        async def exercise() -> None:
            assert (await ping(tls_only.port, grpc.ssl_channel_credentials(ca))).message == "tls"
            assert (await ping(tls_only.port, grpc.ssl_channel_credentials(ca), host="localhost")).message == "tls"
            await refused_with(grpc.StatusCode.UNAVAILABLE, tls_only.port, grpc.ssl_channel_credentials(other_ca))
            await refused_with(grpc.StatusCode.UNAVAILABLE, tls_only.port, None)  # plaintext client
            await refused_with(grpc.StatusCode.UNAUTHENTICATED, tls_only.port, grpc.ssl_channel_credentials(ca),
                               metadata=(("authorization", "Bearer wrong"),))

            assert (await ping(mtls.port, grpc.ssl_channel_credentials(ca, **client))).message == "tls"
            await refused_with(grpc.StatusCode.UNAVAILABLE, mtls.port, grpc.ssl_channel_credentials(ca))  # no client cert
            await refused_with(grpc.StatusCode.UNAVAILABLE, mtls.port, grpc.ssl_channel_credentials(ca, **stranger))
            await refused_with(grpc.StatusCode.UNAVAILABLE, mtls.port, grpc.ssl_channel_credentials(other_ca, **client))
            await refused_with(grpc.StatusCode.UNAVAILABLE, mtls.port, None)
            await refused_with(grpc.StatusCode.UNAUTHENTICATED, mtls.port, grpc.ssl_channel_credentials(ca, **client),
                               metadata=())

        run(exercise(), timeout=30)
        assert tls_only.proc.poll() is None and mtls.proc.poll() is None


def _consecutive_free_ports(count: int) -> int:
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count - 1 > 65535:
            continue
        held: List[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise AssertionError("no consecutive free ports")


def test_workers_serve_on_consecutive_ports_and_a_killed_one_is_restarted():
    base = _consecutive_free_ports(2)
    with service("--listen", f"127.0.0.1:{base}", "--workers", "2", wait=False) as supervisor:
        first = supervisor.event("listening", port=base)
        second = supervisor.event("listening", port=base + 1)
        assert first["pid"] != second["pid"] != supervisor.proc.pid

        async def pid_on(port: int) -> int:
            async with plain(port) as channel:
                pong = await stub_of(channel).Ping(worker_pb2.PingRequest(), metadata=AUTH, timeout=5)
                return int(pong.info.pid)

        assert run(pid_on(base)) == first["pid"] and run(pid_on(base + 1)) == second["pid"]
        os.kill(second["pid"], signal.SIGKILL)
        exit_line = supervisor.event("worker_exit", port=base + 1)
        assert exit_line["exit_code"] == -signal.SIGKILL and 50 <= exit_line["restart_in_ms"] <= 200
        again = supervisor.event("listening", port=base + 1, count=2)
        assert again["pid"] not in (first["pid"], second["pid"])
        assert run(pid_on(base + 1)) == again["pid"] and run(pid_on(base)) == first["pid"]

        assert supervisor.terminate() == 0
        for pid in (first["pid"], again["pid"]):
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert len([line for line in supervisor.lines if line.get("event") == "stopped"]) == 3


def test_sigterm_drains_in_flight_calls_and_refuses_new_ones():
    with service("--listen", "127.0.0.1:0", "--mode", "threaded", "--threads", "2", "--log-level", "debug",
                 adapter=THREADED) as server:

        async def exercise() -> None:
            async with plain(server.port) as channel:
                stub = stub_of(channel)
                unary = asyncio.ensure_future(execute(stub, make_call("sleep", ms=1200)))
                calls = Channel(stub)
                await calls.call(1, make_call("sleep", ms=1200))
                await asyncio.get_running_loop().run_in_executor(None, server.calls_started, "sleep", 2)
                server.proc.send_signal(signal.SIGTERM)
                draining = await asyncio.get_running_loop().run_in_executor(None, server.event, "draining")
                assert draining["in_flight"] == 2
                # A second SIGTERM (systemd signals every process of a unit) does not cut the drain.
                server.proc.send_signal(signal.SIGTERM)
                await asyncio.get_running_loop().run_in_executor(None, server.event, "already_draining")
                # Refused: a new call on the open channel (in band, never run), new RPCs, new connections.
                await calls.call(2, make_call("counter", name="drain"))
                assert_busy_answer(await calls.answer(2), "draining")
                with pytest.raises(grpc.aio.AioRpcError) as late:
                    await execute(stub, make_call("counter", name="drain"), timeout=5)
                if late.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:  # reached it before the listener closed
                    assert_busy_status(late.value, "draining")
                else:
                    assert late.value.code() == grpc.StatusCode.UNAVAILABLE
                async with plain(server.port) as fresh:
                    with pytest.raises(grpc.aio.AioRpcError) as newcomer:
                        await stub_of(fresh).Ping(worker_pb2.PingRequest(), metadata=AUTH, timeout=5)
                    assert newcomer.value.code() == grpc.StatusCode.UNAVAILABLE
                # The calls in flight finish and answer.
                assert decode_value((await unary).result) == {"slept_ms": 1200}
                assert decode_value((await calls.answer(1)).result) == {"slept_ms": 1200}
                ended = await calls.end()
                assert ended is not None and ended.code() == grpc.StatusCode.UNAVAILABLE
                assert trailers(ended)["snakepit-error-code"] == "worker_busy" and "draining" in ended.details()

        run(exercise(), timeout=20)
        assert server.proc.wait(10) == 0
        stopped = server.event("stopped")
        assert stopped["drain_elapsed_ms"] < 5000 and stopped["drain_cut"] is False


def test_sigint_during_the_drain_ends_it_at_once():
    with service("--listen", "127.0.0.1:0", "--drain-seconds", "30", "--log-level", "debug") as server:

        async def exercise() -> None:
            async with plain(server.port) as channel:
                stub = stub_of(channel)
                long_call = asyncio.ensure_future(execute(stub, make_call("sleep", ms=20_000), timeout=25))
                await asyncio.get_running_loop().run_in_executor(None, server.calls_started, "sleep", 1)
                server.proc.send_signal(signal.SIGTERM)
                await asyncio.get_running_loop().run_in_executor(None, server.event, "draining")
                server.proc.send_signal(signal.SIGINT)
                with pytest.raises(grpc.aio.AioRpcError):
                    await long_call

        run(exercise(), timeout=20)
        assert server.proc.wait(10) == 0
        assert server.event("drain_cut")
        stopped = server.event("stopped")
        assert stopped["drain_cut"] is True and stopped["drain_elapsed_ms"] < 10_000


def test_capacity_is_enforced_across_clients_busy_calls_never_run():
    with service("--listen", "127.0.0.1:0", "--python-path", FIXTURES_DIR, "--admission-queue", "1",
                 "--admission-timeout-ms", "300", "--log-level", "debug", adapter=OVERLAP) as server:

        async def exercise() -> None:
            async with plain(server.port) as one, plain(server.port) as two:
                first, second = stub_of(one), stub_of(two)
                holder = asyncio.ensure_future(execute(first, make_call("sleep", ms=900)))
                await asyncio.get_running_loop().run_in_executor(None, server.calls_started, "sleep", 1)
                started = time.monotonic()
                queued = asyncio.ensure_future(execute(second, make_call("counter", name="busy")))
                await asyncio.sleep(0.05)
                # The queue's one place is taken: refused at once, as RPCs and on the channel.
                with pytest.raises(grpc.aio.AioRpcError) as full:
                    await execute(second, make_call("counter", name="busy"))
                assert_busy_status(full.value, "capacity")
                request = worker_pb2.ExecuteStreamingToolRequest(call=make_call("stream_values", values=[1]))
                with pytest.raises(grpc.aio.AioRpcError) as stream_full:
                    async for _ in second.ExecuteStreamingTool(request, metadata=AUTH, timeout=5):
                        pass
                assert_busy_status(stream_full.value, "capacity")
                calls = Channel(second)
                await calls.call(7, make_call("counter", name="busy"))
                details = assert_busy_answer(await calls.answer(7), "capacity")
                assert details["capacity"] == 1 and details["in_use"] == 1
                # The queued call waited its 300 ms, then was refused too.
                with pytest.raises(grpc.aio.AioRpcError) as late:
                    await queued
                assert_busy_status(late.value, "queue_timeout")
                assert 0.25 < time.monotonic() - started < 0.85
                assert decode_value((await holder).result) == {"slept_ms": 900}
                assert (await value_of(second, "counter_value", name="busy"))["value"] == 0  # none of them ran

                # One process-mode worker, two clients loading it: never two calls at once. Calls
                # beyond capacity are refused (queue of 1) and retried, as a pool would.
                async def overlap_until_done(stub: Any, channel: Optional[Channel], call_id: int) -> int:
                    while True:
                        if channel is not None:
                            await channel.call(call_id, make_call("overlap", ms=15))
                            response = await channel.answer(call_id)
                            del channel.answers[call_id]
                        else:
                            try:
                                response = await execute(stub, make_call("overlap", ms=15))
                            except grpc.aio.AioRpcError as error:
                                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
                                assert trailers(error)["snakepit-error-code"] == "worker_busy"
                                await asyncio.sleep(0.005)
                                continue
                        if response.HasField("error"):
                            assert code_name(response.error.code) == "worker_busy"
                            await asyncio.sleep(0.005)
                            continue
                        return int(decode_value(response.result))

                other = Channel(first)
                results = await asyncio.gather(*(
                    overlap_until_done(stub, channel, index)
                    for index in range(1, 7)
                    for stub, channel in ((first, None), (second, None), (first, other), (second, calls))
                ))
                peak, runs = await value_of(first, "overlap_stats")
                assert peak == 1 and max(results) == 1 and runs == len(results) == 24

        run(exercise(), timeout=30)


CLIENT_SCRIPT = textwrap.dedent("""
    import asyncio, json, sys
    import grpc
    from snakepit.bridge.v1 import common_pb2, worker_pb2, worker_pb2_grpc

    async def main():
        auth = (("authorization", "Bearer " + sys.argv[2]),)
        channel = grpc.aio.insecure_channel("127.0.0.1:" + sys.argv[1])
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        call = common_pb2.ToolCall(tool_name="sleep", json_parameters={"ms": b"20000"})
        unary = asyncio.ensure_future(stub.ExecuteTool(worker_pb2.ExecuteToolRequest(call=call), metadata=auth))
        calls = stub.Calls(metadata=auth)
        await calls.write(worker_pb2.CallsRequest(call_id=1, call=worker_pb2.ChannelCall(call=call)))
        await unary

    asyncio.run(main())
""")


def test_a_client_going_away_cancels_its_calls_only_and_the_grace_cuts_the_rest():
    with service("--listen", "127.0.0.1:0", "--mode", "threaded", "--threads", "4", "--log-level", "debug",
                 "--drain-seconds", "0.5", adapter=THREADED) as server:
        client = subprocess.Popen([sys.executable, "-c", CLIENT_SCRIPT, str(server.port), TOKEN], env=BASE_ENV,
                                  stdin=subprocess.DEVNULL)
        try:
            server.calls_started("sleep", 2, timeout=15)

            async def exercise() -> None:
                async with plain(server.port) as channel:
                    stub = stub_of(channel)
                    mine = asyncio.ensure_future(execute(stub, make_call("sleep", ms=1000)))
                    await asyncio.get_running_loop().run_in_executor(None, server.calls_started, "sleep", 3)
                    client.kill()  # the other client's process dies mid-call: its connection closes
                    client.wait(5)
                    deadline = time.monotonic() + 5
                    while await value_of(stub, "cancelled_count", name="sleep") < 2:
                        assert time.monotonic() < deadline, "the gone client's calls were not cancelled"
                        await asyncio.sleep(0.05)
                    assert decode_value((await mine).result) == {"slept_ms": 1000}
                    pong = await stub.Ping(worker_pb2.PingRequest(message="still here"), metadata=AUTH, timeout=5)
                    assert pong.message == "still here" and server.proc.poll() is None

                    # SIGTERM with a call that outlives --drain-seconds: cut at the grace, exit 0.
                    long = asyncio.ensure_future(execute(stub, make_call("sleep", ms=20_000), timeout=30))
                    await asyncio.get_running_loop().run_in_executor(None, server.calls_started, "sleep", 4)
                    started = time.monotonic()
                    server.proc.send_signal(signal.SIGTERM)
                    with pytest.raises(grpc.aio.AioRpcError) as cut:
                        await long
                    assert cut.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
                    assert 0.4 < time.monotonic() - started < 3

            run(exercise(), timeout=30)
            assert server.proc.wait(10) == 0
        finally:
            if client.poll() is None:
                client.kill()
                client.wait(5)


def test_sighup_reads_the_token_file_again_and_a_broken_one_keeps_the_tokens():
    folder = tempfile.mkdtemp(prefix="snakepit-tokens-")
    token_file = os.path.join(folder, "tokens")

    def write(text: str) -> None:
        with open(token_file, "w") as handle:
            handle.write(text)
        os.chmod(token_file, 0o600)

    write("old-token\n\n  second-token  \n")
    try:
        with service("--listen", "127.0.0.1:0", "--token-file", token_file, token_env=None) as server, \
                service("--listen", "127.0.0.1:0") as from_env:

            async def accepted(port: int, *tokens: str) -> List[bool]:
                answers = []
                async with plain(port) as channel:
                    for token in tokens:
                        try:
                            await stub_of(channel).Ping(worker_pb2.PingRequest(), metadata=(("authorization", f"Bearer {token}"),),
                                                        timeout=5)
                        except grpc.aio.AioRpcError as error:
                            assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error
                            answers.append(False)
                        else:
                            answers.append(True)
                return answers

            assert run(accepted(server.port, "old-token", "second-token", "new-token")) == [True, True, False]
            write("new-token\nsecond-token\n")
            server.proc.send_signal(signal.SIGHUP)
            assert server.event("tokens_reloaded")["tokens"] == 2
            assert run(accepted(server.port, "old-token", "second-token", "new-token")) == [False, True, True]
            # Emptied, invalid, gone: each keeps the tokens in force, with a warning.
            for count, breakage in enumerate((lambda: write("\n  \n"), lambda: write("not a token\n"),
                                              lambda: os.remove(token_file)), 1):
                breakage()
                server.proc.send_signal(signal.SIGHUP)
                assert server.event("tokens_kept", count=count)["level"] == "warn"
                assert run(accepted(server.port, "second-token", "new-token")) == [True, True]
            assert not any(token in line for line in server.raw for token in ("old-token", "second-token", "new-token"))

            # The token from the environment cannot change: SIGHUP is logged, and the worker serves on.
            from_env.proc.send_signal(signal.SIGHUP)
            from_env.event("tokens_kept")
            assert run(accepted(from_env.port, TOKEN)) == [True]
            assert server.terminate() == 0 and from_env.terminate() == 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_client_with_a_host_link_gets_the_host_requests_of_its_calls():
    with service("--listen", "127.0.0.1:0") as server:

        async def exercise() -> None:
            host = FakeHostService(TOKEN)
            host.sessions["s1"] = {}
            async with plain(server.port) as channel:
                stub = stub_of(channel)
                link = NodeLink(stub, host)
                try:
                    await link.call(1, make_call("state_set", key="k", value={"v": 1}, session_id="s1"))
                    assert decode_value((await link.answer(1)).result) is True
                    response = await execute(stub, make_call("state_get", key="k", session_id="s1"), metadata=link.metadata)
                    assert decode_value(response.result) == {"v": 1}
                    response = await execute(stub, make_call("call_host_async", name="add", args={"a": 1, "b": 2}),
                                             metadata=link.metadata)
                    assert decode_value(response.result) == 3
                    assert [(frame.call_id, frame.host_request.method) for frame in link.host_requests] == [
                        (1, "SetSessionState"), (0, "GetSessionState"), (0, "ExecuteHostTool")]
                finally:
                    await link.close()

        run(exercise())
        assert server.terminate() == 0
