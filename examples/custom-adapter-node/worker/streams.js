/**
 * One streaming call (PROTOCOL.md §6, ExecuteStreamingTool): the tool's generator runs ahead into a
 * bounded buffer, and each response message carries every chunk that was ready when gRPC took the
 * previous one, so a fast producer is not paced at one message per chunk and a slow one's chunk
 * leaves at once. Exactly one chunk is final, and it is the last.
 */
import { create } from '@bufbuild/protobuf';
import { StreamChunkSchema } from '../gen/snakepit/bridge/v1/worker_pb.js';
import { CallAborted, untilAborted } from './dispatch.js';
import { toToolError, toToolValue, toolValueBytes } from './values.js';

const maxChunksPerMessage = 256;
const maxBytesPerMessage = 256 * 1024;
/** The producer pauses above this many buffered chunks, until half of them are sent. */
const maxBufferedChunks = 1024;

function isIterator(value) {
  return value !== null && typeof value === 'object' && typeof value.next === 'function' && (Symbol.asyncIterator in value || Symbol.iterator in value);
}

/** A plain object with a truthy `is_final` ends the stream and is its last chunk's data (as in Python). */
function isFinalItem(item) {
  return item !== null && typeof item === 'object' && !(item instanceof Uint8Array) && Boolean(item.is_final);
}

/** The `ExecuteStreamingToolResponse` messages of one call. Ends early (CallAborted) when `signal` fires. */
export async function* streamResponses(prepared, context) {
  const { signal } = context;
  const buffered = [];
  let producerDone = false;
  /** @type {((value?: unknown) => void) | undefined} */
  let wakeConsumer;
  /** @type {((value?: unknown) => void) | undefined} */
  let wakeProducer;
  const notifyConsumer = () => {
    wakeConsumer?.();
    wakeConsumer = undefined;
  };
  signal.addEventListener('abort', notifyConsumer, { once: true });

  const push = (chunk) => {
    buffered.push(chunk);
    notifyConsumer();
  };
  const produce = async () => {
    try {
      const result = await untilAborted(Promise.resolve().then(() => prepared.tool.run(prepared.args, context)), signal);
      if (!isIterator(result)) {
        push(create(StreamChunkSchema, { data: toToolValue(result), isFinal: true }));
        return;
      }
      // `for await` closes the generator (its finally blocks run) when we break out of it.
      for await (const item of result) {
        if (signal.aborted) break;
        if (isFinalItem(item)) {
          push(create(StreamChunkSchema, { data: toToolValue(item), isFinal: true }));
          return;
        }
        push(create(StreamChunkSchema, { data: toToolValue(item), isFinal: false }));
        if (buffered.length >= maxBufferedChunks) await new Promise((resolve) => (wakeProducer = resolve));
        if (signal.aborted) break;
      }
      if (!signal.aborted) push(create(StreamChunkSchema, { isFinal: true }));
    } catch (error) {
      if (!signal.aborted) push(create(StreamChunkSchema, { isFinal: true, error: toToolError(error) }));
    } finally {
      producerDone = true;
      notifyConsumer();
    }
  };
  void produce();

  try {
    for (;;) {
      if (signal.aborted) throw new CallAborted();
      if (buffered.length > 0) {
        const chunks = takeBatch(buffered);
        if (buffered.length <= maxBufferedChunks / 2) {
          wakeProducer?.();
          wakeProducer = undefined;
        }
        yield { chunks };
        if (chunks[chunks.length - 1].isFinal) return;
        continue;
      }
      // The producer always ends with a final chunk unless the call was aborted.
      if (producerDone) throw new CallAborted();
      await new Promise((resolve) => (wakeConsumer = resolve));
    }
  } finally {
    signal.removeEventListener('abort', notifyConsumer);
    wakeProducer?.();
  }
}

function takeBatch(buffered) {
  let count = 0;
  let bytes = 0;
  while (count < buffered.length && count < maxChunksPerMessage) {
    const size = toolValueBytes(buffered[count].data);
    // A chunk bigger than the cap goes alone.
    if (count > 0 && bytes + size > maxBytesPerMessage) break;
    bytes += size;
    count += 1;
  }
  return buffered.splice(0, count);
}
