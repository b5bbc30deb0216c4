/**
 * A Node replica: one event loop (every send, every answer and the pool's bookkeeping take their
 * turn on it), its view of the endpoints and its own queue. With `routing: 'own'` (the design) it
 * knows only its own calls: an endpoint looks free when this replica has fewer calls on it than
 * its capacity and it has not refused this replica in the last `busyBackoffMs`. With
 * `routing: 'ideal'` (a reference, not a design) every replica sees every replica's calls and
 * every worker's admission queue, as if the fleet had one pool: no call is ever refused, and a
 * call goes to a worker with a call on it only when none is idle.
 *
 * Routing follows the pool's scheduler:
 * - a session call goes to its session's worker (rendezvous hashing, the same on every replica)
 *   when that looks free; otherwise 'hint' takes the least-loaded free endpoint, 'strict-queue'
 *   waits for that worker in its own queue, 'strict-fail-fast' fails worker_busy;
 * - other calls take the least-loaded free endpoint (ties: idle the longest), else wait in the
 *   shared FIFO queue (at most `maxQueue` waiting, else pool_saturated; `queueTimeoutMs` from
 *   arrival, else queue_timeout);
 * - an endpoint that frees up takes the longest-waiting call of its own queue and the shared one;
 * - a call refused as busy marks the endpoint busy for `busyBackoffMs` (doubling with each refusal
 *   in a row from that endpoint, up to `busyBackoffMaxMs`; an answer resets it) and is routed
 *   again, keeping its place in the queue.
 */
import { Fifo, Level, Server } from './resources.mjs';

/**
 * The longest a replica's event loop works on one call before others get a turn: the call channel
 * reads and writes in batches, so a stream's chunks or a big payload interleave with other calls.
 */
export const nodeTurnMs = 0.5;

/** What a replica knows about the endpoints: its own calls on each (or everyone's, for 'ideal'). */
export function createView(random, endpoints, { ideal = false, admissionQueue = 0 } = {}) {
  const count = endpoints.length;
  return {
    ideal,
    // How many calls may be on each endpoint: its capacity, plus its admission queue for 'ideal'.
    limit: Int32Array.from(endpoints, (endpoint) => endpoint.capacity + (ideal ? admissionQueue : 0)),
    inFlight: new Int32Array(count),
    backoffMs: new Float64Array(count),
    busyUntil: new Float64Array(count).fill(-Infinity),
    // Replicas connect to the endpoints in slightly different orders: a random initial rotation.
    lastDispatch: Float64Array.from(random.shuffled([...Array(count).keys()]), (order) => -count + order),
    dispatches: 0,
  };
}

export class Replica {
  queued = 0;
  #shared = new Fifo();
  #pinned;

  /** `sim` gives the clock, the endpoints, the network, the costs and the call accounting; `view` may be shared. */
  constructor(sim, index, view) {
    this.sim = sim;
    this.index = index;
    const loop = sim.loop;
    this.loop = loop;
    this.view = view;
    this.eventLoop = new Server(loop, 1, `replica ${index} event loop`);
    this.#pinned = Array.from({ length: sim.endpoints.length }, () => new Fifo());
    this.seats = new Level(loop);
    this.seatCount = sim.endpoints.reduce((sum, endpoint) => sum + endpoint.capacity, 0);
  }

  looksFree(index) {
    return this.view.inFlight[index] < this.view.limit[index] && this.view.busyUntil[index] <= this.loop.now;
  }

  /** Whether endpoint `index` has a seat free (not just room in its admission queue). */
  #idle(index) {
    return this.view.inFlight[index] < this.sim.endpoints[index].capacity && this.view.busyUntil[index] <= this.loop.now;
  }

  /** A new call, or one refused as busy, looks for an endpoint. */
  route(call) {
    const owner = call.owner;
    if (owner >= 0) {
      const affinity = this.sim.params.sessions.affinity;
      if (affinity === 'hint') {
        // Seeing every call, a 'hint' call would not queue behind another on its worker while a seat is idle elsewhere.
        if (this.view.ideal ? this.#idle(owner) : this.looksFree(owner)) return this.#send(call, owner);
      } else {
        if (this.looksFree(owner)) return this.#send(call, owner);
        if (affinity === 'strict-fail-fast') return this.sim.fail(call, 'worker_busy');
        return this.#enqueue(call, this.#pinned[owner]);
      }
    }
    // Least loaded first, so with one view for all an idle seat is taken before an admission queue.
    const free = this.#leastLoaded();
    if (free >= 0) this.#send(call, free);
    else this.#enqueue(call, this.#shared);
  }

  #leastLoaded() {
    const endpoints = this.sim.endpoints;
    const { inFlight, lastDispatch } = this.view;
    let best = -1;
    let bestLoad = Infinity;
    for (let index = 0; index < endpoints.length; index += 1) {
      if (!this.looksFree(index)) continue;
      const load = inFlight[index] / endpoints[index].capacity;
      if (load < bestLoad || (load === bestLoad && lastDispatch[index] < lastDispatch[best])) {
        best = index;
        bestLoad = load;
      }
    }
    return best;
  }

  #enqueue(call, queue) {
    if (this.queued >= this.sim.params.maxQueue) return this.sim.fail(call, 'pool_saturated');
    call.state = 'queued';
    call.queuedAt = this.loop.now;
    if (call.refusals > 0) queue.insertBy(call, (waiting) => waiting.sequence);
    else queue.push(call);
    this.queued += 1;
    this.sim.watchDeadline(call);
  }

  /** The call's queue time is over: it leaves the queue failed (its entry is skipped when reached). */
  expire(call) {
    if (call.state !== 'queued') return;
    this.queued -= 1;
    call.waitMs += this.loop.now - call.queuedAt;
    this.sim.fail(call, 'queue_timeout');
  }

  /** The longest-waiting call endpoint `index` may serve from this replica's queues, without taking it. */
  oldestFor(index) {
    const own = this.#pinned[index];
    const shared = this.#shared;
    while (own.length > 0 && own.peek().state !== 'queued') own.shift();
    while (shared.length > 0 && shared.peek().state !== 'queued') shared.shift();
    const mine = own.peek();
    const any = shared.peek();
    if (mine === undefined) return any;
    return any === undefined || mine.sequence < any.sequence ? mine : any;
  }

  /** Sends `oldestFor(index)` (which must be the head of one of the queues) to endpoint `index`. */
  dispatchOldest(index) {
    const call = this.oldestFor(index);
    if (this.#pinned[index].peek() === call) this.#pinned[index].shift();
    else this.#shared.shift();
    this.queued -= 1;
    call.waitMs += this.loop.now - call.queuedAt;
    this.#send(call, index);
  }

  /** Endpoint `index` may have become free: it serves this replica's longest-waiting calls. */
  pump(index) {
    while (this.looksFree(index) && this.oldestFor(index) !== undefined) this.dispatchOldest(index);
  }

  #send(call, index) {
    call.state = 'sent';
    call.endpoint = index;
    call.sentAt = this.loop.now;
    this.view.inFlight[index] += 1;
    this.view.lastDispatch[index] = ++this.view.dispatches;
    this.seats.add(1);
    const endpoint = this.sim.endpoints[index];
    this.eventLoop.holdSliced(call.callClass.nodeSendMs, nodeTurnMs, () =>
      this.sim.network.toHost(endpoint.host, call.callClass.requestBytes, () => endpoint.receive(call)),
    );
  }

  /** The answer to `call` reached this replica: 'done' or 'busy'. */
  answered(call, outcome) {
    const index = call.endpoint;
    if (outcome === 'busy') {
      this.eventLoop.hold(this.sim.refusalNodeMs, () => {
        this.#leave(index);
        // Each refusal in a row from the same endpoint doubles the backoff, up to busyBackoffMaxMs.
        const { busyBackoffMs, busyBackoffMaxMs } = this.sim.params;
        const backoff = this.view.backoffMs[index] === 0 ? busyBackoffMs : Math.min(busyBackoffMaxMs, 2 * this.view.backoffMs[index]);
        this.view.backoffMs[index] = backoff;
        this.view.busyUntil[index] = this.loop.now + backoff;
        this.loop.after(backoff, () => this.pump(index));
        call.refusals += 1;
        call.waitMs += this.loop.now - call.sentAt;
        this.sim.refused(call);
        if (this.loop.now >= call.deadline) this.sim.fail(call, 'queue_timeout');
        else this.route(call);
      });
      return;
    }
    const callClass = call.callClass;
    this.eventLoop.holdSliced(callClass.nodeReceiveMs, nodeTurnMs, () => {
      this.#leave(index);
      this.view.backoffMs[index] = 0;
      this.sim.complete(call);
      this.sim.freed(this, index);
      // Off the path: after what the answer set off (the next dispatch, a caller's next call).
      this.loop.after(0, () => this.eventLoop.holdSliced(callClass.nodeOffPathMs, nodeTurnMs));
    });
  }

  #leave(index) {
    this.view.inFlight[index] -= 1;
    this.seats.add(-1);
  }

  /** Fraction of this replica's endpoint seats (capacity summed over endpoints) it had in use. */
  seatUtilisation() {
    return this.seats.mean() / this.seatCount;
  }
}
