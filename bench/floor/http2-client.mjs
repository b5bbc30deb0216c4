/**
 * The raw floor: gRPC spoken by hand over node:http2, with the flow-control settings the sdk's
 * transport uses, and nothing else (no interceptors, no protobuf, no call objects). Messages are
 * opaque bytes; the floor server echoes them.
 */
import http2 from 'node:http2';

const mebibyte = 1024 * 1024;
const messagePrefixBytes = 5;

export async function connectHttp2(port) {
  const session = http2.connect(`http://127.0.0.1:${port}`, {
    settings: { initialWindowSize: 8 * mebibyte, maxFrameSize: mebibyte },
    maxSessionMemory: 256,
  });
  await new Promise((resolve, reject) => {
    session.once('connect', resolve);
    session.once('error', reject);
  });
  session.setLocalWindowSize(32 * mebibyte);

  function open(method) {
    return session.request({
      ':method': 'POST',
      ':path': `/snakepit.bench.v1.Floor/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
  }

  return {
    /** One unary call: `message` out, the echoed message back. */
    unary(message) {
      const stream = open('Echo');
      writeMessage(stream, message);
      stream.end();
      const messages = [];
      return finished(stream, (answer) => messages.push(answer)).then(() => {
        if (messages.length !== 1) throw new Error(`unary call answered ${messages.length} messages`);
        return messages[0];
      });
    },

    /** One bidi stream kept open; `exchange` sends a message and resolves with its echo. */
    openBidi() {
      const stream = open('Chat');
      const waiting = [];
      const done = finished(stream, (answer) => waiting.shift()?.resolve(answer));
      done.catch((error) => {
        for (const entry of waiting.splice(0)) entry.reject(error);
      });
      return {
        exchange(message) {
          return new Promise((resolve, reject) => {
            waiting.push({ resolve, reject });
            writeMessage(stream, message);
          });
        },
        close() {
          stream.end();
          return done;
        },
      };
    },

    /** A server stream; `onMessage` sees every chunk; resolves when the stream ends cleanly. */
    serverStream(request, onMessage) {
      const stream = open('Stream');
      writeMessage(stream, request);
      stream.end();
      return finished(stream, onMessage);
    },

    close: () => new Promise((resolve) => session.close(resolve)),
  };
}

function writeMessage(stream, message) {
  const prefix = Buffer.allocUnsafe(messagePrefixBytes);
  prefix[0] = 0; // not compressed
  prefix.writeUInt32BE(message.byteLength, 1);
  stream.write(prefix);
  stream.write(message);
}

/** Feeds every response message to `onMessage`; resolves on grpc-status 0, rejects otherwise. */
function finished(stream, onMessage) {
  const read = messageReader(onMessage);
  let status;
  return new Promise((resolve, reject) => {
    stream.on('response', (headers) => {
      status = headers['grpc-status'] ?? status; // a trailers-only answer carries it here
    });
    stream.on('trailers', (trailers) => {
      status = trailers['grpc-status'];
    });
    stream.on('data', read);
    stream.once('error', reject);
    stream.once('close', () => {
      if (status === '0') resolve();
      else reject(new Error(`gRPC call ended with status ${status ?? `none (${stream.rstCode})`}`));
    });
  });
}

/** Splits the DATA byte stream into gRPC messages (5-byte prefix: flag, big-endian length). */
function messageReader(onMessage) {
  const buffered = [];
  let bufferedBytes = 0;
  let messageBytes = -1;

  function take(count) {
    if (buffered[0].length === count) {
      bufferedBytes -= count;
      return buffered.shift();
    }
    if (buffered[0].length > count) {
      const head = buffered[0].subarray(0, count);
      buffered[0] = buffered[0].subarray(count);
      bufferedBytes -= count;
      return head;
    }
    const joined = Buffer.concat(buffered.splice(0), bufferedBytes);
    buffered.push(joined);
    return take(count);
  }

  return (chunk) => {
    buffered.push(chunk);
    bufferedBytes += chunk.length;
    for (;;) {
      if (messageBytes < 0) {
        if (bufferedBytes < messagePrefixBytes) return;
        const prefix = take(messagePrefixBytes);
        if (prefix[0] !== 0) throw new Error('compressed gRPC message: the floor never asks for compression');
        messageBytes = prefix.readUInt32BE(1);
      }
      if (bufferedBytes < messageBytes) return;
      onMessage(messageBytes === 0 ? Buffer.alloc(0) : take(messageBytes));
      messageBytes = -1;
    }
  };
}
