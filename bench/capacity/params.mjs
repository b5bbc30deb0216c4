/**
 * The model's parameters: the fleet, the network, the load and the pool's settings, with their
 * defaults, checked, plus the per-class costs they imply (from costs.mjs). A scenario overrides
 * what it sweeps and keeps the rest: `resolveParams(costs, overrides)`.
 */

export const defaults = {
  seed: 1,
  /** Node replicas, each one event loop (one core's worth of Node CPU). */
  replicas: 4,
  /** Worker hosts. */
  hosts: 4,
  /** Worker servers per host (`--workers W`, consecutive ports): each is an endpoint. */
  workersPerHost: 4,
  /** Threads per worker server: 1 is process mode; T > 1 is `--mode threaded --threads T` (one GIL per server). */
  threadsPerWorker: 1,
  /** Cores per host for Python; defaults to one per worker server. */
  hostCores: undefined,
  /** Round trip between any replica and any worker host, ms. */
  rttMs: 0.2,
  /** Each worker host's NIC, Gbit/s per direction (Infinity: no bandwidth limit). */
  nicGbps: Infinity,
  /** `channel` (the call channel) or `unary` (one gRPC request per call): which measured costs apply. */
  transport: 'channel',
  /** Seat jitter fitted to the measured p99 ('bench'), or none. */
  jitter: 'bench',
  /** Offered load, calls/s, Poisson arrivals spread at random over the replicas; or `lanes` for a closed loop. */
  rate: 2000,
  /** Closed loop instead of `rate`: this many callers on replica 0, each starting a call when its last one ended. */
  lanes: undefined,
  /**
   * The call mix: shares (normalised) of call classes. A class may do `workMs` of Python work that
   * holds the GIL (`gil: true`, pure Python) or not (GPU, I/O, native code that releases it), stream
   * `chunks` chunks back, and carry `requestBytes` / `responseBytes`.
   */
  mix: [
    { name: 'tiny', share: 0.7 },
    { name: 'work 10 ms', share: 0.3, workMs: 10, gil: true },
  ],
  sessions: {
    /** Fraction of calls that belong to a session. */
    share: 1,
    /** Number of sessions S. */
    count: 10_000,
    /** 'uniform', or 'zipf' (with `exponent`): which session a call belongs to. */
    distribution: 'uniform',
    exponent: 1,
    /** Extra share of session calls that go to one hot session (0: none). */
    hotShare: 0,
    /** The pool's affinity mode: 'hint', 'strict-queue' or 'strict-fail-fast'. */
    affinity: 'hint',
  },
  /**
   * Calls a worker server lets wait beyond its capacity before it refuses as busy, and for how
   * long at most (`serve --admission-queue`, `--admission-timeout-ms`; their defaults are 0 and 1000).
   */
  admissionQueue: 0,
  admissionTimeoutMs: 1000,
  /** Python CPU a busy refusal costs the refusing worker (ms; undefined: the bench's figure), charged to its running call. */
  refusalPythonMs: undefined,
  /**
   * 'own': each replica sees only its own calls (the design); 'ideal': every replica sees every
   * call, as one pool with one queue would (a reference for what coordination could buy).
   */
  routing: 'own',
  /** How long a replica leaves an endpoint alone after it refused a call as busy, ms; doubled per refusal in a row, up to the max. */
  busyBackoffMs: 1,
  busyBackoffMaxMs: 16,
  /** The pool's own queue, per replica (the sdk's defaults). */
  maxQueue: 1000,
  queueTimeoutMs: 5000,
  /**
   * Simulated time: the first `warmupMs` are not measured, then `measureMs` are. By default long
   * enough for about `targetCalls` calls in the window (at least 2.5 s, at most 60 s).
   */
  warmupMs: undefined,
  measureMs: undefined,
  targetCalls: 20_000,
};

const affinityModes = ['hint', 'strict-queue', 'strict-fail-fast'];

function positiveInteger(name, value) {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(name, value) {
  if (!(typeof value === 'number' && value >= 0)) throw new TypeError(`${name} must be a number ≥ 0, got ${value}`);
  return value;
}

/** Defaults, then `overrides` (sessions merged key by key), checked. */
export function resolveParams(costs, overrides = {}) {
  const params = { ...defaults, ...overrides, sessions: { ...defaults.sessions, ...overrides.sessions } };
  for (const name of ['replicas', 'hosts', 'workersPerHost', 'threadsPerWorker']) positiveInteger(name, params[name]);
  params.hostCores ??= params.workersPerHost;
  positiveInteger('hostCores', params.hostCores);
  const expectedRate = params.lanes === undefined ? params.rate : 1000;
  params.measureMs ??= Math.min(60_000, Math.max(2500, (1000 * params.targetCalls) / Math.max(1, expectedRate)));
  params.warmupMs ??= Math.max(500, params.measureMs / 10);
  params.busyBackoffMaxMs ??= params.busyBackoffMs;
  for (const name of ['rttMs', 'admissionQueue', 'admissionTimeoutMs', 'busyBackoffMs', 'busyBackoffMaxMs', 'maxQueue', 'queueTimeoutMs', 'warmupMs']) {
    nonNegative(name, params[name]);
  }
  if (params.busyBackoffMaxMs < params.busyBackoffMs) throw new TypeError('busyBackoffMaxMs must be ≥ busyBackoffMs');
  if (!(params.nicGbps > 0)) throw new TypeError(`nicGbps must be > 0, got ${params.nicGbps}`);
  if (!(params.measureMs > 0)) throw new TypeError('measureMs must be > 0');
  if (params.lanes === undefined) nonNegative('rate', params.rate);
  else positiveInteger('lanes', params.lanes);
  if (!['channel', 'unary'].includes(params.transport)) throw new TypeError(`transport must be channel or unary, got ${params.transport}`);
  params.refusalPythonMs ??= costs.refusalPythonMs;
  nonNegative('refusalPythonMs', params.refusalPythonMs);
  if (!['own', 'ideal'].includes(params.routing)) throw new TypeError(`routing must be own or ideal, got ${params.routing}`);
  if (!['bench', 'none'].includes(params.jitter)) throw new TypeError(`jitter must be bench or none, got ${params.jitter}`);
  const sessions = params.sessions;
  if (!affinityModes.includes(sessions.affinity)) throw new TypeError(`sessions.affinity must be one of ${affinityModes.join(', ')}`);
  if (!['uniform', 'zipf'].includes(sessions.distribution)) throw new TypeError('sessions.distribution must be uniform or zipf');
  positiveInteger('sessions.count', sessions.count);
  if (!(sessions.share >= 0 && sessions.share <= 1)) throw new TypeError('sessions.share must be in [0, 1]');
  if (!(sessions.hotShare >= 0 && sessions.hotShare <= 1)) throw new TypeError('sessions.hotShare must be in [0, 1]');
  if (!Array.isArray(params.mix) || params.mix.length === 0) throw new TypeError('mix must be a non-empty array');
  params.classes = callClasses(costs, params);
  return params;
}

/**
 * What a call of each class costs where, in ms: Node's event loop (send and receive on the path,
 * the rest after), the worker's CPU (GIL and a core), the worker's time without CPU (work that
 * releases the GIL), bytes on the wire.
 */
function callClasses(costs, params) {
  const transport = costs[params.transport];
  const total = params.mix.reduce((sum, entry) => sum + nonNegative(`mix share of ${entry.name}`, entry.share), 0);
  if (!(total > 0)) throw new TypeError('mix shares must not all be 0');
  return params.mix.map((entry) => {
    const workMs = nonNegative(`${entry.name}: workMs`, entry.workMs ?? 0);
    const chunks = nonNegative(`${entry.name}: chunks`, entry.chunks ?? 0);
    const requestBytes = nonNegative(`${entry.name}: requestBytes`, entry.requestBytes ?? 72);
    const responseBytes = nonNegative(`${entry.name}: responseBytes`, entry.responseBytes ?? 72);
    const gil = entry.gil ?? true;
    const requestMiB = requestBytes / 2 ** 20;
    const responseMiB = responseBytes / 2 ** 20;
    return {
      name: entry.name,
      share: entry.share / total,
      workMs,
      gil,
      chunks,
      requestBytes,
      responseBytes,
      nodeSendMs: transport.nodeSendMs + requestMiB * costs.bytes.nodeMsPerMiB,
      nodeReceiveMs: transport.nodeReceiveMs + chunks * costs.stream.nodeMsPerChunk + responseMiB * costs.bytes.nodeMsPerMiB,
      nodeOffPathMs: transport.nodeOffPathMs + (workMs > 0 ? costs.work.nodeExtraMs : 0),
      pythonCpuMs:
        transport.pythonCpuMs +
        (gil ? workMs * costs.work.cpuFactor : 0) +
        chunks * costs.stream.pythonMsPerChunk +
        (requestMiB + responseMiB) * costs.bytes.pythonMsPerMiB,
      pythonWaitMs: gil ? 0 : workMs,
    };
  });
}

/** The jitter that applies (share 0 when switched off). */
export function jitterOf(costs, params) {
  return params.jitter === 'none' ? { share: 0, meanMs: 0 } : costs[params.transport].jitter;
}
