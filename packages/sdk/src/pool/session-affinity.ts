/**
 * Which worker last served each session. Bounded (least recently used sessions are forgotten
 * first) so a service that mints a session per request cannot grow it without limit, and indexed
 * by worker so a worker that goes away forgets its sessions in one step.
 */

export interface AffinityHolder {
  /** The sessions currently pinned to this holder. */
  readonly sessions: Set<string>;
}

export class SessionAffinity<W extends AffinityHolder> {
  // A Map iterates in insertion order; re-inserting on use keeps the oldest entry first.
  private readonly workers = new Map<string, W>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.workers.size;
  }

  workerOf(sessionId: string): W | undefined {
    return this.workers.get(sessionId);
  }

  /** Records that `worker` serves `sessionId`; true when the session just landed on it. */
  assign(sessionId: string, worker: W): boolean {
    const previous = this.workers.get(sessionId);
    if (previous !== undefined) this.workers.delete(sessionId);
    this.workers.set(sessionId, worker);
    if (previous === worker) return false;
    previous?.sessions.delete(sessionId);
    worker.sessions.add(sessionId);
    if (this.workers.size > this.limit) this.evictOldest();
    return true;
  }

  /** Forgets every session of a worker that is gone or no longer takes calls. */
  forgetWorker(worker: W): void {
    for (const sessionId of worker.sessions) {
      if (this.workers.get(sessionId) === worker) this.workers.delete(sessionId);
    }
    worker.sessions.clear();
  }

  private evictOldest(): void {
    const oldest = this.workers.keys().next();
    if (oldest.done) return;
    const worker = this.workers.get(oldest.value);
    this.workers.delete(oldest.value);
    worker?.sessions.delete(oldest.value);
  }
}
