/** The tools the sdk's adapter conformance suite calls (see packages/sdk/src/testing/adapter-conformance.ts). */
import { setTimeout as sleep } from 'node:timers/promises';

const produced = new Map();
const closed = new Map();
const cancelled = new Map();

export const tools = {
  echo: { description: 'Returns its arguments', run: (args) => args },

  echo_bytes: { parameters: { data: { required: true } }, run: ({ data }) => data },

  fail: {
    parameters: { message: { default: 'boom' }, kind: { default: 'Error' } },
    run({ message, kind }) {
      const error = new Error(message);
      error.name = kind;
      throw error;
    },
  },

  stream_values: {
    streaming: true,
    parameters: { values: { required: true } },
    async *run({ values }) {
      yield* values;
    },
  },

  fail_stream: {
    streaming: true,
    parameters: { after: { default: 2 } },
    async *run({ after }) {
      for (let i = 0; i < after; i += 1) yield { i };
      throw new RangeError('stream failed');
    },
  },

  stream_ticks: {
    streaming: true,
    parameters: { name: { default: 'ticks' }, delay_ms: { default: 20 }, limit: { default: 100_000 } },
    async *run({ name, delay_ms, limit }, { signal }) {
      produced.set(name, 0);
      closed.set(name, false);
      try {
        for (let tick = 0; tick < limit; tick += 1) {
          produced.set(name, produced.get(name) + 1);
          yield { tick };
          await sleep(delay_ms, undefined, { signal });
        }
      } finally {
        closed.set(name, true);
      }
    },
  },

  stream_state: {
    parameters: { name: { required: true } },
    run: ({ name }) => ({ produced: produced.get(name) ?? 0, closed: closed.get(name) ?? false }),
  },

  sleep: {
    parameters: { ms: { required: true } },
    async run({ ms }, { signal }) {
      try {
        await sleep(ms, undefined, { signal });
      } catch (error) {
        if (signal.aborted) cancelled.set('sleep', (cancelled.get('sleep') ?? 0) + 1);
        throw error;
      }
      return { slept_ms: ms };
    },
  },

  cancelled_count: { parameters: { name: { default: 'sleep' } }, run: ({ name }) => cancelled.get(name) ?? 0 },

  crash: {
    parameters: { code: { default: 1 }, delay_ms: { default: 0 } },
    async run({ code, delay_ms }) {
      await sleep(delay_ms);
      process.exit(code);
    },
  },

  pid: { run: () => process.pid },
};
