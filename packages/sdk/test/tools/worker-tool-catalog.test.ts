import { describe, expect, it } from 'vitest';
import { createWorkerToolCatalog, type WorkerToolSpec } from '../../src/tools/worker-tool-catalog.js';

function spec(name: string, description = ''): WorkerToolSpec {
  return { name, description, supportsStreaming: false, parameters: undefined, metadata: {} };
}

describe('WorkerToolCatalog', () => {
  it('lists every tool once with the workers that reported it', () => {
    const catalog = createWorkerToolCatalog();
    catalog.record('w1', [spec('embed'), spec('echo')]);
    catalog.record('w2', [spec('embed')]);
    expect(catalog.list().map((tool) => [tool.name, tool.workerIds])).toEqual([
      ['echo', ['w1']],
      ['embed', ['w1', 'w2']],
    ]);
  });

  it('replaces a worker report on re-register and shows the latest spec', () => {
    const catalog = createWorkerToolCatalog();
    catalog.record('w1', [spec('embed', 'old'), spec('gone')]);
    catalog.record('w2', [spec('embed', 'other')]);
    catalog.record('w1', [spec('embed', 'new')]);
    expect(catalog.forWorker('w1')?.map((tool) => tool.name)).toEqual(['embed']);
    expect(catalog.list()).toEqual([expect.objectContaining({ name: 'embed', description: 'new', workerIds: ['w2', 'w1'] })]);
  });

  it('forgets a worker that exited', () => {
    const catalog = createWorkerToolCatalog();
    catalog.record('w1', [spec('embed')]);
    expect(catalog.forgetWorker('w1')).toBe(true);
    expect(catalog.forgetWorker('w1')).toBe(false);
    expect(catalog.list()).toEqual([]);
    expect(catalog.workerIds()).toEqual([]);
  });

  it('keeps a copy, not the caller-owned objects', () => {
    const catalog = createWorkerToolCatalog();
    const reported = [spec('embed')];
    catalog.record('w1', reported);
    reported.push(spec('late'));
    expect(Object.isFrozen(catalog.forWorker('w1'))).toBe(true);
    expect(catalog.list().map((tool) => tool.name)).toEqual(['embed']);
  });
});
