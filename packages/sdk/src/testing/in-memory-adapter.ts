/**
 * An Adapter spec v1 implementation without processes: tools are plain functions, and the test
 * controls the workers (crash one, hang one, fail starts) to drive the pool through the situations
 * real Python workers produce. It behaves like the gRPC worker where the pool can tell: calls reject
 * with `worker_exit` when their worker dies, honour `context.signal` (rejecting with its reason),
 * streams end with exactly one final chunk, and values travel as JSON.
 */
import type {
  AdapterV1,
  AdapterWorkerV1,
  CallContext,
  CallRequest,
  WorkerExitInfo,
  WorkerStartContext,
} from '../adapter/v1/adapter.js';
import { errors, SnakepitError } from '../errors.js';
import { decodeArguments } from '../wire/arguments.js';
import { toChunk } from '../wire/chunk.js';
import type { Chunk } from '../wire/chunk.js';
import type { ToolArguments } from '../wire/arguments.js';

export interface InMemoryToolContext {
  sessionId: string | undefined;
  /** Aborted when the pool cancels the call (deadline, abort, stream stopped, worker stopped). */
  signal: AbortSignal;
  workerId: string;
  correlationId: string;
  metadata: Record<string, string>;
}

/** A tool: returns a value, a promise of one, or (for streams) an iterable / async iterable of values. */
export type InMemoryTool = (args: ToolArguments, context: InMemoryToolContext) => unknown;

export interface InMemoryAdapterOptions {
  tools: Record<string, InMemoryTool>;
  /** Calls each worker runs at once. Default 1. */
  capacity?: number;
  /** How long a start takes. Default 0. */
  startDelayMs?: number;
  /** Return an error to make that start attempt (1-based, counted across the adapter) fail. */
  failStart?: (workerId: string, attempt: number) => Error | undefined;
  /** How long a cancelled call takes to settle, like Python finishing its cancellation. Default 0. */
  cancelDelayMs?: number;
  name?: string;
}

export interface InMemoryWorker extends AdapterWorkerV1 {
  /** Calls running on it now. */
  readonly inFlight: number;
  /** Sessions announced to it through doBeginSession, in order. */
  readonly begunSessions: readonly string[];
}

export interface InMemoryAdapter extends AdapterV1 {
  /** Workers started and not yet gone. */
  workers(): InMemoryWorker[];
  /** Kills a worker: `exited` resolves and (unless rejectCalls is false) its calls reject with worker_exit. */
  crash(workerId: string, options?: { code?: number | null; signal?: string | null; rejectCalls?: boolean }): void;
  /** Makes a worker hang: pings fail after their timeout, calls (new and running) never settle until it is stopped. */
  hang(workerId: string): void;
  /** How many times a tool started running (all tools when omitted). */
  callCount(tool?: string): number;
  /** doStartWorker calls so far, failed ones included. */
  startAttempts(): number;
  /** The contexts the pool started workers with. */
  startContexts(): readonly WorkerStartContext[];
  /** The most calls ever running at once on one worker. */
  peakConcurrency(): number;
}

/** One running call: killing it rejects the call and aborts the tool's signal. */
class ActiveCall {
  readonly toolAbort = new AbortController();
  readonly killed: Promise<never>;
  /** While set, the call settles only once it resolves (a slow cancellation). */
  lingering: Promise<void> | undefined;
  private rejectKilled!: (error: unknown) => void;

  constructor() {
    this.killed = new Promise<never>((_, reject) => {
      this.rejectKilled = reject;
    });
    this.killed.catch(() => {});
  }

  kill(error: unknown): void {
    this.toolAbort.abort(error);
    this.rejectKilled(error);
  }
}

function asToolError(error: unknown): SnakepitError {
  if (SnakepitError.isInstance(error)) return error;
  const text = error instanceof Error ? error.message : String(error);
  const type = error instanceof Error ? error.name : 'Error';
  return new SnakepitError('python_error', text, { pythonType: type, cause: error });
}

/** Values cross the boundary as JSON, like on the wire (bytes stay bytes). */
function overTheWire(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof Uint8Array) return value;
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function toStreamChunk(value: unknown): Chunk {
  if (value instanceof Uint8Array) return toChunk({ kind: 'binary', value }, false);
  const json = overTheWire(value);
  const isFinal =
    typeof json === 'object' && json !== null && !Array.isArray(json) && Boolean((json as Record<string, unknown>).is_final);
  return toChunk({ kind: 'json', value: json }, isFinal);
}

function iteratorOf(produced: unknown): AsyncIterator<unknown> | Iterator<unknown> | undefined {
  if (typeof produced !== 'object' || produced === null || Array.isArray(produced)) return undefined;
  const asyncIterable = produced as Partial<AsyncIterable<unknown>>;
  if (typeof asyncIterable[Symbol.asyncIterator] === 'function') return asyncIterable[Symbol.asyncIterator]!();
  const iterable = produced as Partial<Iterable<unknown>>;
  if (typeof iterable[Symbol.iterator] === 'function') return iterable[Symbol.iterator]!();
  return undefined;
}

class Worker implements InMemoryWorker {
  readonly pid = undefined;
  readonly info = { runtime: 'memory' };
  readonly exited: Promise<WorkerExitInfo>;
  readonly begunSessions: string[] = [];
  hung = false;
  gone = false;
  private readonly active = new Set<ActiveCall>();
  private exitInfo: WorkerExitInfo | undefined;
  private resolveExited!: (exit: WorkerExitInfo) => void;

  constructor(
    readonly id: string,
    readonly capacity: number,
    private readonly adapter: MemoryAdapter,
  ) {
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve;
    });
  }

  get inFlight(): number {
    return this.active.size;
  }

  doExecute(request: CallRequest, context: CallContext): Promise<unknown> {
    return this.withCall(context, async (call) => {
      const tool = this.begin(request);
      const produced = await Promise.race([tool(decodeArguments(request.args), this.toolContext(request, call)), call.killed]);
      return overTheWire(produced);
    });
  }

  async *doStream(request: CallRequest, context: CallContext): AsyncIterable<Chunk> {
    const call = this.enter(context);
    let iterator: AsyncIterator<unknown> | Iterator<unknown> | undefined;
    let finished = false;
    try {
      if (this.hung) await call.killed;
      const tool = this.begin(request);
      const produced = await Promise.race([tool(decodeArguments(request.args), this.toolContext(request, call)), call.killed]);
      iterator = iteratorOf(produced);
      if (iterator === undefined) {
        const chunk = toStreamChunk(produced);
        yield chunk;
        if (!chunk.is_final) yield { is_final: true };
        finished = true;
        return;
      }
      for (;;) {
        const next = await Promise.race([Promise.resolve(iterator.next()), call.killed]);
        if (next.done) break;
        if (this.hung) await call.killed;
        const chunk = toStreamChunk(next.value);
        yield chunk;
        if (chunk.is_final) {
          finished = true;
          return;
        }
      }
      finished = true;
      yield { is_final: true };
    } catch (error) {
      throw asToolError(error);
    } finally {
      if (call.lingering !== undefined) await call.lingering;
      this.leave(call);
      if (!finished) {
        // The consumer went away or the call was cancelled: stop the producer like Python would.
        call.toolAbort.abort(errors.aborted(request.tool, 'stream closed'));
        if (iterator?.return !== undefined) {
          void Promise.resolve()
            .then(() => iterator!.return!())
            .catch(() => {});
        }
      }
    }
  }

  doPing(timeoutMs: number): Promise<void> {
    if (this.gone) return Promise.reject(errors.transport(`worker ${this.id} is gone`));
    if (!this.hung) return Promise.resolve();
    return new Promise((_, reject) => {
      setTimeout(() => reject(errors.transport(`worker ${this.id} did not answer a ping within ${timeoutMs} ms`)), timeoutMs);
    });
  }

  async doBeginSession(sessionId: string): Promise<void> {
    this.begunSessions.push(sessionId);
  }

  async doStop(_options: { graceMs: number }): Promise<void> {
    const exit: WorkerExitInfo = this.hung ? { code: null, signal: 'SIGKILL' } : { code: 0, signal: null };
    this.terminate(exit, true);
    await this.exited;
  }

  terminate(exit: WorkerExitInfo, rejectCalls: boolean): void {
    if (this.exitInfo !== undefined) return;
    this.exitInfo = exit;
    this.gone = true;
    this.adapter.forget(this);
    this.resolveExited(exit);
    if (!rejectCalls) return;
    const error = errors.workerExit(this.id, exit);
    for (const call of [...this.active]) call.kill(error);
  }

  private begin(request: CallRequest): InMemoryTool {
    const tool = this.adapter.tools[request.tool];
    if (tool === undefined) throw errors.unknownTool(request.tool);
    this.adapter.countCall(request.tool);
    return tool;
  }

  private toolContext(request: CallRequest, call: ActiveCall): InMemoryToolContext {
    return {
      sessionId: request.sessionId,
      signal: call.toolAbort.signal,
      workerId: this.id,
      correlationId: request.correlationId,
      metadata: request.metadata ?? {},
    };
  }

  private enter(context: CallContext): ActiveCall {
    if (this.gone) throw errors.workerExit(this.id, this.exitInfo ?? { code: null, signal: null });
    const call = new ActiveCall();
    this.active.add(call);
    this.adapter.observeConcurrency(this.active.size);
    const onAbort = () => {
      // A hung worker does not react to cancellation either.
      if (this.hung) return;
      const cancelDelayMs = this.adapter.cancelDelayMs;
      if (cancelDelayMs <= 0) {
        call.kill(context.signal.reason);
        return;
      }
      call.lingering = new Promise((resolve) => setTimeout(resolve, cancelDelayMs));
      call.kill(context.signal.reason);
    };
    if (context.signal.aborted) onAbort();
    else context.signal.addEventListener('abort', onAbort, { once: true });
    void call.killed.catch(() => context.signal.removeEventListener('abort', onAbort));
    return call;
  }

  private leave(call: ActiveCall): void {
    this.active.delete(call);
  }

  private async withCall(context: CallContext, body: (call: ActiveCall) => Promise<unknown>): Promise<unknown> {
    const call = this.enter(context);
    try {
      if (this.hung) await call.killed;
      return await Promise.race([body(call), call.killed]);
    } catch (error) {
      throw asToolError(error);
    } finally {
      if (call.lingering !== undefined) await call.lingering;
      this.leave(call);
    }
  }
}

class MemoryAdapter implements InMemoryAdapter {
  readonly specificationVersion = 'v1' as const;
  readonly name: string;
  readonly tools: Record<string, InMemoryTool>;
  private readonly live = new Map<string, Worker>();
  private readonly calls = new Map<string, number>();
  private readonly contexts: WorkerStartContext[] = [];
  private attempts = 0;
  private peak = 0;

  readonly cancelDelayMs: number;

  constructor(private readonly options: InMemoryAdapterOptions) {
    this.name = options.name ?? 'memory';
    this.cancelDelayMs = options.cancelDelayMs ?? 0;
    this.tools = options.tools;
  }

  async doStartWorker(context: WorkerStartContext): Promise<AdapterWorkerV1> {
    const attempt = ++this.attempts;
    this.contexts.push(context);
    const delayMs = this.options.startDelayMs ?? 0;
    if (delayMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, delayMs);
        context.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(context.signal.reason);
          },
          { once: true },
        );
      });
    }
    if (context.signal.aborted) throw context.signal.reason;
    const failure = this.options.failStart?.(context.workerId, attempt);
    if (failure !== undefined) throw failure;
    const worker = new Worker(context.workerId, this.options.capacity ?? 1, this);
    this.live.set(worker.id, worker);
    return worker;
  }

  workers(): InMemoryWorker[] {
    return [...this.live.values()];
  }

  crash(workerId: string, options: { code?: number | null; signal?: string | null; rejectCalls?: boolean } = {}): void {
    const worker = this.live.get(workerId);
    if (worker === undefined) throw new Error(`no live in-memory worker ${workerId}`);
    worker.terminate({ code: options.code === undefined ? 1 : options.code, signal: options.signal ?? null }, options.rejectCalls ?? true);
  }

  hang(workerId: string): void {
    const worker = this.live.get(workerId);
    if (worker === undefined) throw new Error(`no live in-memory worker ${workerId}`);
    worker.hung = true;
  }

  callCount(tool?: string): number {
    if (tool !== undefined) return this.calls.get(tool) ?? 0;
    let total = 0;
    for (const count of this.calls.values()) total += count;
    return total;
  }

  startAttempts(): number {
    return this.attempts;
  }

  startContexts(): readonly WorkerStartContext[] {
    return this.contexts;
  }

  peakConcurrency(): number {
    return this.peak;
  }

  countCall(tool: string): void {
    this.calls.set(tool, (this.calls.get(tool) ?? 0) + 1);
  }

  observeConcurrency(running: number): void {
    if (running > this.peak) this.peak = running;
  }

  forget(worker: Worker): void {
    this.live.delete(worker.id);
  }
}

export function createInMemoryAdapter(options: InMemoryAdapterOptions): InMemoryAdapter {
  return new MemoryAdapter(options);
}
