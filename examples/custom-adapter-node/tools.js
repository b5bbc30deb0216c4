/**
 * The tools this example's workers serve: plain functions of their arguments, run by a Node.js
 * worker instead of a Python one. `parameters` (optional) makes the worker refuse a missing or
 * unexpected argument with `invalid_parameter`; `streaming: true` tools are async generators.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export const tools = {
  hello: {
    description: 'Greets someone from the worker process',
    parameters: { name: { required: true } },
    run: ({ name }) => `Hello, ${name}, from Node ${process.version} in worker pid ${process.pid}`,
  },

  sha256: {
    description: 'SHA-256 of the given bytes, as hex',
    parameters: { data: { required: true } },
    run: ({ data }) => createHash('sha256').update(data).digest('hex'),
  },

  countdown: {
    description: 'Counts down, one chunk every delay_ms',
    streaming: true,
    parameters: { from: { default: 3 }, delay_ms: { default: 50 } },
    async *run({ from, delay_ms }, { signal }) {
      for (let remaining = from; remaining > 0; remaining -= 1) {
        yield { remaining };
        // Passing the signal makes the wait end at once when the caller stops reading.
        await sleep(delay_ms, undefined, { signal });
      }
      yield { remaining: 0, is_final: true };
    },
  },

  quote: {
    description: 'Asks the Node host for a price and adds the tax',
    parameters: { sku: { required: true } },
    async run({ sku }, { callHostTool }) {
      const { price } = await callHostTool('price_of', { sku });
      return { sku, price, with_tax: Math.round(price * 120) / 100 };
    },
  },

  visit: {
    description: "Counts the calls of the caller's session, in the pool's session store",
    async run(_args, { sessionId, state }) {
      const visits = ((await state.get('visits')) ?? 0) + 1;
      await state.set('visits', visits);
      return { session: sessionId, visits };
    },
  },
};
