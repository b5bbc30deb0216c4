// The runtime scenario of the release check, run once from an ES module (esm.mjs) and once from a
// CommonJS script (cjs.cjs) in a fresh project where the packed tarballs are installed. Each entry
// loads the packages its own way and hands them here, so what differs between the two runs is exactly
// how the packages are resolved and loaded.
'use strict';
const assert = require('node:assert/strict');
const { inspect } = require('node:util');

// Python classes shipped inside @snakepit/adapter-python (python/snakepit_bridge/adapters/).
const processAdapterClass = 'snakepit_bridge.adapters.showcase.ShowcaseAdapter';
const threadedAdapterClass = 'snakepit_bridge.adapters.showcase_threaded.ThreadedShowcaseAdapter';

async function step(label, run) {
  try {
    await run();
    console.log(`  ok   ${label}`);
  } catch (error) {
    throw new Error(`${label}: ${error instanceof Error ? error.stack : inspect(error)}`, { cause: error });
  }
}

async function runScenario({ format, sdk, adapterPython, adapterThreaded, redaction, sessionStoreRedis, sdkManifest }) {
  const { createPool, SnakepitError } = sdk;
  console.log(`[${format}] @snakepit/sdk ${sdkManifest.version}`);

  const pool = createPool({ adapter: adapterPython.pythonAdapter({ adapter: processAdapterClass }), size: 2 });
  try {
    await step('pool starts (interpreter found in ./.venv)', () => pool.ready());
    await step('execute', async () => {
      assert.equal(await pool.execute('add', { a: 2, b: 3 }), 5);
      assert.deepEqual(await pool.execute('echo', { nested: { list: [1, null, 'x'] }, big: 2 ** 40 }), {
        nested: { list: [1, null, 'x'] },
        big: 2 ** 40,
      });
    });
    await step('stream', async () => {
      const chunks = [];
      for await (const chunk of pool.executeStream('stream_progress', { steps: 3, delay_ms: 1 })) chunks.push(chunk);
      assert.deepEqual(chunks.map((chunk) => [chunk.step, chunk.is_final]), [[1, false], [2, false], [3, true]]);
    });
    await step('session', async () => {
      const session = pool.session(`release-check-${format}`);
      await session.create();
      await session.state.set('greeting', 'hello');
      assert.equal(await session.state.get('greeting'), 'hello');
      const info = await session.execute('session_info');
      assert.equal(info.session_id, session.id);
      assert.equal(await session.delete(), true);
    });
    await step('a Python exception is a SnakepitError (one sdk copy)', async () => {
      const failure = await pool.execute('fail', { message: 'expected', kind: 'KeyError' }).then(
        () => assert.fail('the call should have failed'),
        (error) => error,
      );
      assert.ok(failure instanceof SnakepitError, `not an instance of the installed SnakepitError: ${inspect(failure)}`);
      assert.equal(failure.code, 'python_error');
      assert.equal(failure.pythonType, 'KeyError');
      assert.equal(failure.constructor.name, 'SnakepitError');
      assert.match(inspect(failure).split('\n')[0], /^SnakepitError: /);
    });
  } finally {
    await step('close', () => pool.close());
  }

  const threaded = createPool({
    adapter: adapterThreaded.threadedPythonAdapter({ adapter: threadedAdapterClass, threadsPerWorker: 2 }),
    size: 1,
  });
  try {
    await step('threaded adapter: execute', async () => {
      await threaded.ready();
      const results = await Promise.all([threaded.execute('add', { a: 1, b: 1 }), threaded.execute('add', { a: 2, b: 2 })]);
      assert.deepEqual(results, [2, 4]);
    });
  } finally {
    await threaded.close();
  }

  // No Redis here: an unreachable one must fail fast, typed, with the installed sdk's error class.
  await step('Redis session store: unreachable Redis is session_store_unavailable (one sdk copy)', async () => {
    const store = sessionStoreRedis.redisSessionStore({ url: 'redis://127.0.0.1:1', operationTimeoutMs: 300, connectTimeoutMs: 200 });
    try {
      const failure = await store.create('s').then(() => assert.fail('the call should have failed'), (error) => error);
      assert.ok(failure instanceof SnakepitError, `not an instance of the installed SnakepitError: ${inspect(failure)}`);
      assert.equal(failure.code, 'session_store_unavailable');
    } finally {
      await store.close();
    }
  });

  await step('redaction', () => {
    const text = redaction.scrubText('password=hunter2 user=ada');
    assert.ok(!text.includes('hunter2'), text);
  });
}

module.exports = { runScenario };
