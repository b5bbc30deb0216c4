/**
 * The adapter conformance suite against the in-memory adapter, so the pool behaviour every adapter
 * must show is also what the in-memory adapter (on which the pool's unit tests run) shows. The
 * conformance tools are written here as plain functions, doing what the Python showcase adapter's do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnakepitError } from '../../src/errors.js';
import {
  createInMemoryAdapter,
  defineAdapterConformanceSuite,
  type InMemoryAdapter,
  type InMemoryTool,
} from '../../src/testing/index.js';

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** The tools the suite calls, on one adapter (which `crash` needs to kill the calling worker). */
function conformanceTools(adapter: () => InMemoryAdapter): Record<string, InMemoryTool> {
  const streams = new Map<string, { produced: number; closed: boolean }>();
  const cancelled = new Map<string, number>();
  return {
    echo: (args) => args,
    echo_bytes: (args) => args.data,
    fail: (args) => {
      const raised = new Error(String(args.message));
      throw new SnakepitError('python_error', String(args.message), {
        pythonType: String(args.kind),
        pythonTraceback: raised.stack ?? '',
      });
    },
    // An array is one value to the in-memory adapter; a generator is a stream of them.
    stream_values: function* (args) {
      yield* args.values as unknown[];
    },
    stream_ticks: async function* (args, context) {
      const name = String(args.name);
      const state = { produced: 0, closed: false };
      streams.set(name, state);
      try {
        for (;;) {
          yield { tick: state.produced };
          state.produced += 1;
          await pause(Number(args.delay_ms), context.signal);
        }
      } finally {
        state.closed = true;
      }
    },
    stream_state: (args) => streams.get(String(args.name)) ?? { produced: 0, closed: false },
    sleep: async (args, context) => {
      try {
        await pause(Number(args.ms), context.signal);
      } catch (error) {
        cancelled.set('sleep', (cancelled.get('sleep') ?? 0) + 1);
        throw error;
      }
      return { slept: args.ms };
    },
    cancelled_count: (args) => cancelled.get(String(args.name)) ?? 0,
    crash: (args, context) => {
      setTimeout(() => adapter().crash(context.workerId, { code: Number(args.code) }), Number(args.delay_ms));
      return new Promise(() => {});
    },
  };
}

defineAdapterConformanceSuite(
  {
    name: 'in-memory',
    createAdapter() {
      const adapter: InMemoryAdapter = createInMemoryAdapter({ tools: conformanceTools(() => adapter) });
      return adapter;
    },
    workerProcesses: false,
  },
  { describe, it, beforeAll, afterAll, expect },
);
