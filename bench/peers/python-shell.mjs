/**
 * The peer library: python-shell 5 in JSON mode, one long-lived PythonShell running
 * bench/python/stdio_loop.py with the same interpreter as the pool. Calls carry an id, so several
 * may be in flight (the Python loop answers them one after another); a stream is a run of chunk
 * lines ended by a done line. python-shell has no backpressure: every line Python writes becomes a
 * 'message' event at once, and waits in `queue` until the consumer takes it.
 * Its line splitter joins every 64 KiB read to the unfinished line and splits the whole again, so
 * one line of n bytes costs O(n²): a 16 MiB payload (22 MiB of base64) takes seconds in Node.
 * python-shell has no readiness signal either: opening waits for the answer to a first call, and
 * `readyMs` is the time to it.
 */
import { PythonShell } from 'python-shell';
import { benchPythonDirectory, pythonCommand } from '../lib/python.mjs';
import { expectEqual } from '../lib/verify.mjs';

export async function openPythonShell() {
  const startedAt = performance.now();
  const shell = new PythonShell('stdio_loop.py', { mode: 'json', pythonPath: pythonCommand(), scriptPath: benchPythonDirectory });
  const pending = new Map();
  let nextId = 0;
  let failure;

  shell.on('message', (message) => pending.get(message.id)?.(message));
  const failAll = (error) => {
    failure ??= error;
    for (const handler of pending.values()) handler({ error: error?.message ?? String(error) });
  };
  shell.on('error', failAll);
  shell.on('pythonError', failAll);
  // A Python that died early makes the next write fail with EPIPE: fail the calls, not the process.
  shell.childProcess.stdin.on('error', failAll);
  shell.childProcess.once('exit', (code, signal) => failAll(new Error(`python-shell's Python exited (${code ?? signal})`)));

  function send(tool, args, handler) {
    if (failure) throw failure;
    const id = nextId++;
    pending.set(id, handler);
    shell.send({ id, tool, args });
    return id;
  }

  const call = (tool, args) =>
    new Promise((resolve, reject) => {
      const id = send(tool, args, (message) => {
        pending.delete(id);
        if ('error' in message) reject(new Error(message.error));
        else resolve(message.result);
      });
    });
  const greeting = { ready: true };
  expectEqual(await call('echo', greeting), greeting, 'the first echo');
  const readyMs = performance.now() - startedAt;

  return {
    readyMs,
    pythonPids: () => [shell.childProcess.pid],
    call,
    stream: (tool, args) => {
      const queue = createQueue();
      const id = send(tool, args, (message) => {
        if ('chunk' in message) return queue.push(message.chunk);
        pending.delete(id);
        if ('error' in message) queue.fail(new Error(message.error));
        else queue.end();
      });
      return queue;
    },
    close: () =>
      new Promise((resolve) => {
        failure ??= new Error('closed');
        shell.end(() => resolve());
      }),
  };
}

/** An unbounded async queue: what a consumer of python-shell's events ends up writing. */
function createQueue() {
  const items = [];
  let waiting;
  let ended = false;
  let failure;
  const wake = () => {
    waiting?.();
    waiting = undefined;
  };
  return {
    push(item) {
      items.push(item);
      wake();
    },
    end() {
      ended = true;
      wake();
    },
    fail(error) {
      failure = error;
      wake();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (items.length > 0) yield items.shift();
        else if (failure) throw failure;
        else if (ended) return;
        else await new Promise((resolve) => (waiting = resolve));
      }
    },
  };
}
