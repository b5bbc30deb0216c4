/** `pool.execute`: a call that returns one result. */
import type { AdapterWorkerV1, CallContext } from '../adapter/v1/adapter.js';
import type { SnakepitError } from '../errors.js';
import type { WorkerSlot } from '../workers/worker-slot.js';
import { PoolCall, toSnakepitError, type CallHost, type CallPlan } from './pool-call.js';

/** `promise` is what `pool.execute` hands back. */
export class ExecuteCall extends PoolCall {
  readonly promise: Promise<unknown>;
  private resolvePromise!: (value: unknown) => void;
  private rejectPromise!: (error: SnakepitError) => void;

  constructor(host: CallHost, plan: CallPlan) {
    super(host, plan);
    this.promise = new Promise((resolve, reject) => {
      this.resolvePromise = resolve;
      this.rejectPromise = reject;
    });
  }

  protected run(worker: AdapterWorkerV1, context: CallContext, slot: WorkerSlot): void {
    let pending: Promise<unknown>;
    try {
      pending = worker.doExecute(this.request, context);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (value) => {
        if (this.succeed(false, true, value)) this.resolvePromise(value);
        this.host.scheduler.release(slot, this, undefined);
      },
      (error: unknown) => {
        const failure = toSnakepitError(error, 'execute');
        if (this.returnAfterRefusal(slot, failure)) return;
        this.fail(failure);
        this.host.scheduler.release(slot, this, failure);
      },
    );
  }

  protected deliverError(error: SnakepitError): void {
    this.rejectPromise(error);
  }
}
