/**
 * The shared adapter conformance suite, against a worker server run as a service (`--workers 1`,
 * whose supervisor restarts a crashed server) reached over TLS with remotePythonAdapter: what the
 * pool does for local workers holds for a remote one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAdapterConformanceSuite } from '@snakepit/sdk/testing';
import { remotePythonAdapter } from '../src/index.js';
import { showcase } from './python-under-test.js';
import { makeTlsFixture, type TlsFixture } from './support/tls-certificates.js';
import { startWorkerService, type WorkerServiceProcess } from './support/worker-service.js';

let certificates: TlsFixture;
let service: WorkerServiceProcess;

beforeAll(async () => {
  certificates = await makeTlsFixture();
  service = await startWorkerService({
    adapter: showcase,
    host: '127.0.0.1',
    workers: 1,
    tlsCert: certificates.server.certPath,
    tlsKey: certificates.server.keyPath,
  });
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await certificates?.cleanup();
});

defineAdapterConformanceSuite(
  {
    name: 'python (remote, over TLS)',
    createAdapter: () => remotePythonAdapter({ endpoints: [service.endpoint], tls: { ca: certificates.ca.cert }, token: service.token }),
    // The worker is a process on the server's side: the pool sees no pid of its own.
    workerProcesses: false,
  },
  { describe, it, beforeAll, afterAll, expect },
);
