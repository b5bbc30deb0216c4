"""The floor: a bare grpc.aio server with no pool, no payload encoding and no tool code.

Its methods take and return raw bytes (no protobuf (de)serialisation on this side), so a call
costs what grpcio and HTTP/2 cost. The raw node:http2 client sends its payload as the message;
connect's client wraps it in a `google.protobuf.BytesValue`; either way the server echoes it:
  snakepit.bench.v1.Floor/Echo    unary: the request, back
  snakepit.bench.v1.Floor/Chat    bidi: every request message, back, in order
  snakepit.bench.v1.Floor/Stream  server stream: a BytesValue holding the decimal count n in,
                                  n chunks out (each BytesValue{value: '{"index":0}'})
Prints "PORT <n>" once it listens on 127.0.0.1, and exits when stdin closes (its Node parent
went away), so no server outlives a bench run.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import AsyncIterator

import grpc
from google.protobuf import wrappers_pb2

SERVICE = "snakepit.bench.v1.Floor"
MESSAGE_LIMIT = 64 * 1024 * 1024
CHUNK = wrappers_pb2.BytesValue(value=b'{"index":0}').SerializeToString()


async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request


async def chat(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request


async def stream(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    for _ in range(int(wrappers_pb2.BytesValue.FromString(request).value)):
        yield CHUNK


def exit_when_stdin_closes() -> None:
    sys.stdin.buffer.read()
    os._exit(0)


async def main() -> None:
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", MESSAGE_LIMIT), ("grpc.max_send_message_length", MESSAGE_LIMIT)]
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                SERVICE,
                {
                    "Echo": grpc.unary_unary_rpc_method_handler(echo),
                    "Chat": grpc.stream_stream_rpc_method_handler(chat),
                    "Stream": grpc.unary_stream_rpc_method_handler(stream),
                },
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"PORT {port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main())
