/**
 * Pings every started worker on its own timer (one per worker, never per call). A worker that
 * misses `maxMissed` pings in a row is hung — alive as a process but not answering — which no exit
 * event would ever reveal; the supervisor then fails its calls and replaces it.
 */
import type { AdapterWorkerV1, HeartbeatSettings } from '../adapter/v1/adapter.js';
import type { PoolEventEmitter } from '../observability/events.js';
import type { WorkerSlot } from './worker-slot.js';

/** Extra wait beyond the ping timeout, for adapters that do not enforce it themselves. */
const pingTimeoutMarginMs = 250;

export class HeartbeatMonitor {
  constructor(
    private readonly settings: HeartbeatSettings,
    private readonly events: PoolEventEmitter,
    private readonly onUnresponsive: (slot: WorkerSlot, missedHeartbeats: number) => void,
  ) {}

  watch(slot: WorkerSlot): void {
    this.schedule(slot);
  }

  private schedule(slot: WorkerSlot): void {
    clearTimeout(slot.heartbeatTimer);
    slot.heartbeatTimer = setTimeout(() => this.beat(slot), this.settings.intervalMs);
    // Housekeeping must not keep an idle process alive.
    slot.heartbeatTimer.unref();
  }

  private static watched(slot: WorkerSlot): boolean {
    // A worker that announced its own drain takes no new RPCs, pings included; its own grace bounds it.
    return !slot.exited && !slot.stopRequested && !slot.announcedDrain && (slot.state === 'ready' || slot.state === 'draining');
  }

  private beat(slot: WorkerSlot): void {
    slot.heartbeatTimer = undefined;
    if (!HeartbeatMonitor.watched(slot) || slot.worker === undefined) return;
    const startedAt = performance.now();
    void HeartbeatMonitor.ping(slot.worker, this.settings.timeoutMs).then((ok) => {
      if (!HeartbeatMonitor.watched(slot)) return;
      const latencyMs = performance.now() - startedAt;
      if (this.events.has('heartbeat')) this.events.emit('heartbeat', { workerId: slot.id, ok, latencyMs });
      slot.missedHeartbeats = ok ? 0 : slot.missedHeartbeats + 1;
      if (slot.missedHeartbeats >= this.settings.maxMissed) this.onUnresponsive(slot, slot.missedHeartbeats);
      else this.schedule(slot);
    });
  }

  /** True when the worker answered in time; never rejects, even if the adapter's ping never settles. */
  private static ping(worker: AdapterWorkerV1, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs + pingTimeoutMarginMs);
      timer.unref();
      const settle = (ok: boolean) => {
        clearTimeout(timer);
        resolve(ok);
      };
      try {
        Promise.resolve(worker.doPing(timeoutMs)).then(
          () => settle(true),
          () => settle(false),
        );
      } catch {
        settle(false);
      }
    });
  }
}
