/**
 * The tools each worker reported about itself (RegisterTools), kept for discovery. A worker that
 * re-registers replaces its list; a worker that exits is forgotten, so the catalog never lists
 * tools that no live worker can run.
 */
import type { JsonValue } from '../wire/json-value.js';

export interface WorkerToolSpec {
  readonly name: string;
  readonly description: string;
  readonly supportsStreaming: boolean;
  /** The worker's JSON description of the parameters, when it sent one. */
  readonly parameters: JsonValue | undefined;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A tool as discovered across the pool, with the workers that reported it. */
export interface CatalogedTool extends WorkerToolSpec {
  readonly workerIds: readonly string[];
}

export class WorkerToolCatalog {
  readonly #byWorker = new Map<string, readonly WorkerToolSpec[]>();

  /** Records (replacing) what `workerId` reported. The specs are expected already validated (the bridge does). */
  record(workerId: string, tools: readonly WorkerToolSpec[]): void {
    // Delete first so the map's order stays "least recently reported first" (see `list`).
    this.#byWorker.delete(workerId);
    this.#byWorker.set(workerId, Object.freeze(tools.map((tool) => Object.freeze({ ...tool }))));
  }

  /** True when the worker had reported tools. */
  forgetWorker(workerId: string): boolean {
    return this.#byWorker.delete(workerId);
  }

  /** What one worker reported, or undefined when it never did. */
  forWorker(workerId: string): readonly WorkerToolSpec[] | undefined {
    return this.#byWorker.get(workerId);
  }

  workerIds(): string[] {
    return [...this.#byWorker.keys()];
  }

  /**
   * Every known tool once, sorted by name. Workers of one pool run the same adapter, so specs
   * normally agree; when they differ, the most recently reported one is shown.
   */
  list(): CatalogedTool[] {
    const merged = new Map<string, { spec: WorkerToolSpec; workerIds: string[] }>();
    for (const [workerId, tools] of this.#byWorker) {
      for (const spec of tools) {
        const entry = merged.get(spec.name);
        if (entry === undefined) merged.set(spec.name, { spec, workerIds: [workerId] });
        else {
          entry.spec = spec;
          entry.workerIds.push(workerId);
        }
      }
    }
    return [...merged.values()]
      .sort((left, right) => (left.spec.name < right.spec.name ? -1 : left.spec.name > right.spec.name ? 1 : 0))
      .map(({ spec, workerIds }) => Object.freeze({ ...spec, workerIds: Object.freeze(workerIds) }));
  }
}

export function createWorkerToolCatalog(): WorkerToolCatalog {
  return new WorkerToolCatalog();
}
