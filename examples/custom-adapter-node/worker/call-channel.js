/**
 * The call channel (PROTOCOL.md §6, `Calls`): one long-lived stream per worker on which small unary
 * calls travel as messages. Each call runs on its own while frames keep being read; answers go
 * back in completion order. A cancelled call gets no answer; one that outlives its `timeout_ms` is
 * answered with `timeout`; when the pool half-closes, the calls in flight finish, then the stream
 * ends with OK.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { ToolCallSchema } from '../gen/snakepit/bridge/v1/common_pb.js';
import { CallsResponseSchema, ExecuteToolResponseSchema } from '../gen/snakepit/bridge/v1/worker_pb.js';
import { invalidParameter, toToolError, toolValueBytes, ToolFailure } from './values.js';

/** Room for a frame's own fields around its result, below which no exact size check is needed. */
const frameOverheadBytes = 64 * 1024;

/**
 * Serves one `Calls` stream. `execute(call, signal, headers)` resolves with an
 * `ExecuteToolResponse` init, or rejects once `signal` fired.
 */
export async function* serveCallChannel(frames, rpcSignal, { execute, maxMessageBytes }) {
  const running = new Map();
  const answers = [];
  let readerDone = false;
  let readerError;
  let wake;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  rpcSignal.addEventListener('abort', notify, { once: true });

  const answer = (callId, tool, response) => {
    answers.push(create(CallsResponseSchema, { callId, response: withinLimit(tool, response, maxMessageBytes) }));
    notify();
  };

  const start = (callId, { call = create(ToolCallSchema), timeoutMs, headers }) => {
    const tool = call.toolName;
    if (running.has(callId)) {
      answer(callId, tool, { error: toToolError(invalidParameter('call_id', 'already in flight')) });
      return;
    }
    const entry = { controller: new AbortController(), timedOut: false };
    running.set(callId, entry);
    // The channel has no gRPC deadline: each call's own budget is enforced here.
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            entry.timedOut = true;
            entry.controller.abort();
          }, timeoutMs)
        : undefined;
    const stillOurs = () => running.get(callId) === entry;
    execute(call, entry.controller.signal, headers)
      .then(
        (response) => {
          if (stillOurs() && !entry.controller.signal.aborted) answer(callId, tool, response);
        },
        () => {
          if (stillOurs() && entry.timedOut) {
            const failure = new ToolFailure('timeout', `tool '${tool}' did not finish within ${timeoutMs} ms`, { tool, timeout_ms: timeoutMs });
            answer(callId, tool, { error: toToolError(failure) });
          }
        },
      )
      .finally(() => {
        clearTimeout(timer);
        if (stillOurs()) running.delete(callId);
        notify();
      });
  };

  const cancel = (callId) => {
    const entry = running.get(callId);
    if (entry === undefined) return; // already answered: ignored
    running.delete(callId);
    entry.controller.abort();
  };

  void (async () => {
    try {
      for await (const frame of frames) {
        if (frame.kind.case === 'call') start(frame.callId, frame.kind.value);
        else if (frame.kind.case === 'cancel') cancel(frame.callId);
        // a frame with neither is ignored
      }
    } catch (error) {
      readerError = error;
    } finally {
      readerDone = true;
      notify();
    }
  })();

  try {
    for (;;) {
      // One write at a time: gRPC takes the next answer once the previous one is written.
      while (answers.length > 0) yield answers.shift();
      if (rpcSignal.aborted) return;
      if (readerError !== undefined) {
        const cause = ConnectError.from(readerError);
        throw new ConnectError(`malformed call channel frame: ${cause.rawMessage}`, Code.InvalidArgument);
      }
      // Half-closed by the pool: done once every call in flight is answered.
      if (readerDone && running.size === 0) return;
      await new Promise((resolve) => (wake = resolve));
    }
  } finally {
    rpcSignal.removeEventListener('abort', notify);
    // The stream ended, broke or was cancelled: nothing may keep running for it.
    for (const entry of running.values()) entry.controller.abort();
    running.clear();
  }
}

/**
 * An answer above the message limit would fail the whole stream and every call on it; it fails
 * only its own call instead.
 */
function withinLimit(tool, response, maxMessageBytes) {
  if (toolValueBytes(response.result) + frameOverheadBytes < maxMessageBytes) return response;
  const size = toBinary(ExecuteToolResponseSchema, create(ExecuteToolResponseSchema, response)).byteLength + 16;
  if (size <= maxMessageBytes) return response;
  const failure = new ToolFailure('transport_error', `the result of '${tool}' (${size} bytes) exceeds the message limit (${maxMessageBytes} bytes)`, {
    tool,
    reason: 'result_too_large',
    size,
    limit: maxMessageBytes,
  });
  return { error: toToolError(failure) };
}
