/**
 * Worker hosts and the worker servers on them. A host has cores (shared by its servers' Python
 * CPU, first come first served) and a NIC. A worker server is one endpoint of the pool: it
 * enforces its own capacity (1 call in process mode, T in threaded mode), lets up to
 * `admissionQueue` more calls wait in its admission queue (FIFO, at most `admissionTimeoutMs`), and
 * refuses the rest as busy: a refused call never ran. This is what `python -m snakepit_bridge.serve
 * --admission-queue N --admission-timeout-ms MS` does (snakepit_bridge/worker/admission.py). A call's time on the server: its Python CPU (under the server's GIL in threaded
 * mode, and on one of the host's cores), then work that releases the GIL, then jitter (the seat is
 * held, no CPU used), then the time it spent answering 'busy' to others meanwhile (`refusalPythonMs`
 * each; the seat is held, and the host's cores are not charged again).
 */
import { Link } from './network.mjs';
import { Fifo, Level, Server } from './resources.mjs';

export class WorkerHost {
  constructor(loop, params, index) {
    this.index = index;
    this.cores = new Server(loop, params.hostCores, `host ${index} cores`);
    this.nicIn = new Link(loop, params.nicGbps, `host ${index} NIC in`);
    this.nicOut = new Link(loop, params.nicGbps, `host ${index} NIC out`);
  }
}

export class WorkerServer {
  served = 0;
  refused = 0;
  #admission = new Fifo();
  #waiting = 0;
  #debtMs = 0;

  /**
   * `answer(call, server, outcome)` sends 'done' or 'busy' back to the call's replica;
   * `jitterOf()` draws the extra time a call holds its seat.
   */
  constructor(loop, params, host, index, { answer, jitterOf }) {
    this.loop = loop;
    this.host = host;
    this.index = index;
    this.id = `10.0.${host.index}.1:${50051 + (index % params.workersPerHost)}`;
    this.capacity = params.threadsPerWorker;
    this.admissionLimit = params.admissionQueue;
    this.admissionTimeoutMs = params.admissionTimeoutMs;
    this.refusalMs = params.refusalPythonMs;
    this.gil = params.threadsPerWorker > 1 ? new Server(loop, 1, `${this.id} GIL`) : undefined;
    this.running = new Level(loop);
    this.answer = answer;
    this.jitterOf = jitterOf;
  }

  /** A call's request arrived. */
  receive(call) {
    call.arrivedAtWorker = this.loop.now;
    if (this.running.value < this.capacity) this.#start(call);
    else if (this.#waiting < this.admissionLimit) {
      call.admission = 'waiting';
      this.#waiting += 1;
      this.#admission.push(call);
      this.loop.after(this.admissionTimeoutMs, () => {
        if (call.admission !== 'waiting') return;
        call.admission = 'expired';
        this.#waiting -= 1;
        this.#refuse(call);
      });
    } else this.#refuse(call);
  }

  /** Answering 'busy' takes the server's own CPU (and GIL): its running calls finish that much later. */
  #refuse(call) {
    this.refused += 1;
    this.#debtMs += this.refusalMs;
    this.answer(call, this, 'busy');
  }

  get admissionLength() {
    return this.#waiting;
  }

  #start(call) {
    this.running.add(1);
    call.waitMs += this.loop.now - call.arrivedAtWorker;
    const { pythonCpuMs, pythonWaitMs } = call.callClass;
    const afterCpu = () => {
      const debt = this.#debtMs;
      this.#debtMs = 0;
      this.loop.after(pythonWaitMs + this.jitterOf() + debt, () => this.#finish(call));
    };
    const cores = this.host.cores;
    const onCore = (release) =>
      cores.acquire(() =>
        this.loop.after(pythonCpuMs, () => {
          cores.release();
          release?.();
          afterCpu();
        }),
      );
    if (this.gil === undefined) onCore();
    else this.gil.acquire(() => onCore(() => this.gil.release()));
  }

  #finish(call) {
    this.running.add(-1);
    this.served += 1;
    let next = this.#admission.shift();
    while (next !== undefined && next.admission !== 'waiting') next = this.#admission.shift();
    if (next !== undefined) {
      next.admission = 'admitted';
      this.#waiting -= 1;
      this.#start(next);
    }
    this.answer(call, this, 'done');
  }

  /** Mean fraction of its capacity in use during the window. */
  utilisation() {
    return this.running.mean() / this.capacity;
  }
}
