/**
 * The pool's logs and events as an operator sees them: one debug line per call start and end that
 * summarises payloads and never prints them, worker output scrubbed line by line, and the call's
 * correlation id on every log line and event of that call.
 */
import { describe, expect, it } from 'vitest';
import { createJsonLogger, type Logger } from '../../src/observability/logging.js';
import { createMemoryLogger } from '../../src/testing/index.js';
import { parseWorkerLogLine } from '../../src/workers/worker-log-line.js';
import type { PoolEventName } from '../../src/observability/events.js';
import { EventLog, eventually, failureOf, testPool } from './pool-test-support.js';
import { WorkerLogForwarder } from '../../src/observability/worker-log-forwarder.js';

const secret = 'hunter2-secret';
const token = 'tok_abcdefgh12345';

const everyEvent: PoolEventName[] = [
  'call:start',
  'call:end',
  'call:error',
  'queue:enter',
  'queue:leave',
  'worker:spawn',
  'worker:ready',
  'worker:exit',
  'worker:recycle',
  'worker:unresponsive',
  'worker:startup_failed',
  'pool:saturated',
  'heartbeat',
];

describe('call log lines', () => {
  it('logs start and end at debug with the correlation id, describing arguments and results', async () => {
    const logger = createMemoryLogger();
    const { pool } = testPool({ logger });
    await pool.execute('echo', { password: secret, nested: { token } }, { correlationId: 'corr-1' });
    const lines = logger.records.filter((record) => record.fields.callId !== undefined);
    expect(lines.map((record) => [record.level, record.message])).toEqual([
      ['debug', 'call started'],
      ['debug', 'call finished'],
    ]);
    expect(lines[0]!.fields).toMatchObject({
      correlationId: 'corr-1',
      tool: 'echo',
      workerId: 'w1',
      args: 'object(keys: ["password","nested"], count: 2)',
    });
    expect(lines[1]!.fields).toMatchObject({ correlationId: 'corr-1', result: 'object(keys: ["password","nested"], count: 2)' });
    expect(logger.text()).not.toContain(secret);
    expect(logger.text()).not.toContain(token);
  });

  it('logs a failure with its code and the correlation id, and no argument value', async () => {
    const logger = createMemoryLogger();
    const { pool } = testPool({ logger });
    await failureOf(pool.execute('fail', { message: 'bad', password: secret }, { correlationId: 'corr-2' }));
    const failed = logger.records.find((record) => record.message === 'call failed');
    expect(failed?.fields).toMatchObject({ correlationId: 'corr-2', code: 'python_error', tool: 'fail' });
    expect(logger.text()).not.toContain(secret);
  });

  it('describes arguments only when debug is enabled', async () => {
    let keyReads = 0;
    // describe() lists keys; counting ownKeys calls shows whether it ran.
    const args = () => new Proxy({ a: 1 }, { ownKeys: (target) => (keyReads++, Reflect.ownKeys(target)) });
    const readsFor = async (logger: Logger) => {
      const { pool } = testPool({ logger });
      keyReads = 0;
      await pool.execute('echo', args());
      return keyReads;
    };
    const quiet = await readsFor(createJsonLogger({ level: 'info', write: () => {} }));
    const silent = await readsFor(createJsonLogger({ level: 'silent' }));
    const debug = await readsFor(createJsonLogger({ level: 'debug', write: () => {} }));
    expect(quiet).toBe(silent);
    expect(debug).toBeGreaterThan(silent);
  });
});

describe('correlation ids', () => {
  it('are on every event of the call, from the queue to the end', async () => {
    const { pool, toolbox } = testPool({ size: 1 });
    const events = new EventLog(pool, everyEvent);
    await pool.ready();
    const first = pool.execute('wait', { name: 'first' }, { correlationId: 'corr-first' });
    const second = pool.execute('echo', { x: 1 }, { correlationId: 'corr-second' });
    await eventually(() => expect(events.of('queue:enter')).toHaveLength(1));
    toolbox.release('first');
    await Promise.all([first, second]);
    const forSecond = events.entries.filter((entry) => (entry.payload as { correlationId?: string }).correlationId === 'corr-second');
    expect(forSecond.map((entry) => entry.name)).toEqual(['queue:enter', 'queue:leave', 'call:start', 'call:end']);
    const callEvents = events.entries.filter((entry) => entry.name.startsWith('call:') || entry.name.startsWith('queue:'));
    for (const entry of callEvents) expect((entry.payload as { correlationId?: string }).correlationId).toMatch(/^corr-/);
  });

  it('are generated when the caller gives none', async () => {
    const { pool } = testPool();
    const events = new EventLog(pool, ['call:start', 'call:end']);
    await pool.execute('echo', {});
    const [start, end] = [events.of('call:start')[0]!, events.of('call:end')[0]!];
    expect(start.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(end.correlationId).toBe(start.correlationId);
  });

  it('must be printable ASCII without spaces, and the refusal does not repeat the value', async () => {
    const { pool } = testPool();
    for (const bad of ['', `line\nbreak ${secret}`, 'x'.repeat(257), 42, 'naïve']) {
      const error = await failureOf(pool.execute('echo', {}, { correlationId: bad as string }));
      expect(error.code).toBe('invalid_parameter');
      expect(error.details.key).toBe('correlationId');
      expect(error.message).not.toContain(secret);
    }
  });
});

describe('worker output', () => {
  it("with workerOutput 'logger': scrubbed and logged with worker id, source, level and correlation id", async () => {
    const logger = createMemoryLogger();
    const { pool, adapter } = testPool({ logger, workerOutput: 'logger' });
    await pool.ready();
    const onLog = adapter.startContexts()[0]!.onLog;
    onLog(parseWorkerLogLine('w1', 'stderr', `{'password': '${secret}', 'token': '${token}'}`));
    onLog(parseWorkerLogLine('w1', 'stdout', `progress 50% token=${token}`));
    onLog(
      parseWorkerLogLine(
        'w1',
        'stderr',
        JSON.stringify({
          snakepit: 'log',
          level: 'error',
          logger: 'app',
          message: `login failed password=${secret}`,
          correlation_id: 'corr-py',
          trace_id: '0af7651916cd43dd8448eb211c80319c',
          exc: `Traceback (most recent call last):\n  ValueError: api_key=${secret}`,
        }),
      ),
    );
    const workerLines = logger.records.filter((record) => record.fields.source !== undefined);
    expect(workerLines.map((record) => [record.fields.workerId, record.fields.source, record.level])).toEqual([
      ['w1', 'stderr', 'warn'],
      ['w1', 'stdout', 'info'],
      ['w1', 'logging', 'error'],
    ]);
    expect(workerLines[0]!.message).toBe("{'password': '[REDACTED]', 'token': '[REDACTED]'}");
    expect(workerLines[2]!.fields).toMatchObject({
      correlationId: 'corr-py',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      logger: 'app',
    });
    expect(logger.text()).not.toContain(secret);
    expect(logger.text()).not.toContain(token);
  });

  it('does no work for a level the logger drops', () => {
    const written: string[] = [];
    const lines = new WorkerLogForwarder(createJsonLogger({ level: 'error', write: (line) => written.push(line) }), 'logger');
    const workerLogger = lines.forWorker('w1');
    let messageReads = 0;
    const record = {
      ...parseWorkerLogLine('w1', 'stdout', 'hello'),
      get message() {
        messageReads += 1;
        return 'hello';
      },
    };
    lines.log(workerLogger, record);
    expect(messageReads).toBe(0);
    expect(written).toEqual([]);
    lines.log(workerLogger, { ...parseWorkerLogLine('w1', 'stderr', `boom password=${secret}`), level: 'error' });
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0]!)).toMatchObject({ workerId: 'w1', source: 'stderr', msg: 'boom password=[REDACTED]' });
  });

  it("is not even routed when the pool logs nothing and output does not go to stderr", () => {
    expect(new WorkerLogForwarder(createJsonLogger({ level: 'silent' }), 'logger').enabled).toBe(false);
    expect(new WorkerLogForwarder(createJsonLogger({ level: 'silent' }), 'ignore').enabled).toBe(false);
    expect(new WorkerLogForwarder(createJsonLogger({ level: 'silent' }), 'stderr').enabled).toBe(true);
  });
});
