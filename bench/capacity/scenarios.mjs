/**
 * The tables `run.mjs` prints: each a sweep of one or two parameters around the base fleet
 * (4 Node replicas, 4 worker hosts × 4 process-mode workers, 0.2 ms RTT, 70% tiny calls and 30%
 * of 10 ms pure-Python work, 10,000 sessions with affinity 'hint', `serve`'s admission defaults
 * (no admission queue, 1 s timeout), the sdk's queue defaults). A row is `{ labels, params }`; `params` may be a function of a helper
 * that gives the base fleet's capacity bound, so loads can be set as a share of it.
 */

const tinyOnly = [{ name: 'tiny', share: 1 }];
const noSessions = { share: 0 };

export const scenarios = [
  {
    id: 'calibration',
    title: "Calibration: the bench's own set-ups in the model (one replica, one host, loopback, closed loop)",
    note:
      'The first two rows are what the jitter was fitted on; the rest were not fitted. The bench machine has 2 vCPUs for Node\n' +
      'and Python together (Python got 0.85–1.5 of them in these rows); the model gives Node its own core and the workers\n' +
      '`host cores`, so the work rows with 2 workers or more are bracketed by 1 and 2 cores.',
    labels: ['set-up', 'host cores', 'measured calls/s · p50 · p99'],
    rows: () => {
      const tiny = (size, lanes, measured, extra = {}) => ({
        labels: { 'set-up': `${extra.threadsPerWorker ? `threaded(1)×${extra.threadsPerWorker}` : `pool(${size})`}${extra.transport === 'unary' ? ', no channel' : ''}, tiny, ${lanes} in flight`, 'host cores': extra.hostCores ?? 1, 'measured calls/s · p50 · p99': measured },
        params: { replicas: 1, hosts: 1, workersPerHost: size, rttMs: 0, lanes, mix: tinyOnly, sessions: noSessions, admissionQueue: 0, hostCores: 1, ...extra },
      });
      const work = (size, measured, hostCores = 1) => ({
        labels: { 'set-up': `pool(${size}), 2.31 ms work, 8 in flight`, 'host cores': hostCores, 'measured calls/s · p50 · p99': measured },
        params: {
          replicas: 1,
          hosts: 1,
          workersPerHost: size,
          hostCores,
          rttMs: 0,
          lanes: 8,
          mix: [{ name: 'work', share: 1, workMs: 2.306, gil: true }],
          sessions: noSessions,
          admissionQueue: 0,
        },
      });
      return [
        tiny(1, 1, '1178 · 0.719 · 3.76'),
        tiny(1, 1, '678 · 1.26 · 5.52', { transport: 'unary' }),
        tiny(1, 16, '1091 · 14.1 · 23.6'),
        tiny(1, 64, '1212 · 52.6 · 71.3'),
        tiny(2, 16, '1661 · 9.10 · 18.5'),
        tiny(4, 64, '2149 · 29.0 · 54.9'),
        tiny(1, 16, '1924 · 7.89 · 15.7', { workersPerHost: 1, threadsPerWorker: 4 }),
        work(1, '256 · 31.6 · 45.1'),
        work(2, '410 · 19.3 · 31.9'),
        work(2, '410 · 19.3 · 31.9', 2),
        work(4, '458 · 15.5 · 40.7'),
        work(4, '458 · 15.5 · 40.7', 2),
      ];
    },
  },
  {
    id: 'load',
    title: 'Load sweep: base fleet (N=4 replicas, M=4 hosts × W=4 process workers, RTT 0.2 ms), 70% tiny + 30% 10 ms work',
    note:
      "admission 0 is `serve`'s default; 3 = N − 1, so no worker ever refuses (a replica puts at most one call on a process worker).\n" +
      "routing 'ideal': every replica sees every call and every admission queue, as one pool would (a reference, not the design).",
    labels: ['routing', 'admission', 'load'],
    rows: ({ baseCapacity }) => {
      const rows = [];
      const loads = [0.25, 0.5, 0.7, 0.8, 0.9, 0.95, 1.1];
      for (const admissionQueue of [0, 3]) {
        for (const share of loads) {
          rows.push({
            labels: { routing: 'own view', admission: admissionQueue, load: `${Math.round(share * 100)}% of bound` },
            params: { rate: share * baseCapacity, admissionQueue },
          });
        }
      }
      for (const share of [0.25, 0.7, 0.9, 0.95]) {
        rows.push({
          labels: { routing: 'ideal', admission: 1, load: `${Math.round(share * 100)}% of bound` },
          params: { rate: share * baseCapacity, routing: 'ideal', admissionQueue: 1 },
        });
      }
      return rows;
    },
  },
  {
    id: 'mixes',
    title: 'What the calls do: the base fleet at 80% of each mix\'s own bound',
    labels: ['mix', 'workers'],
    extras: ['gil'],
    rows: ({ capacityOf }) => {
      const mixes = [
        ['tiny only', [{ name: 'tiny', share: 1 }]],
        ['70% tiny, 30% 10 ms', undefined],
        ['50 ms pure Python', [{ name: 'work 50 ms', share: 1, workMs: 50, gil: true }]],
        ['90% tiny, 10% 1000-chunk streams', [{ name: 'tiny', share: 0.9 }, { name: 'stream', share: 0.1, chunks: 1000 }]],
        ['20 ms releasing the GIL', [{ name: 'gpu 20 ms', share: 1, workMs: 20, gil: false }]],
      ];
      const rows = mixes.map(([mix, calls]) => {
        const params = calls === undefined ? {} : { mix: calls };
        return { labels: { mix, workers: '4 × process' }, params: { ...params, rate: 0.8 * capacityOf(params) } };
      });
      const threaded = { mix: mixes[4][1], workersPerHost: 1, threadsPerWorker: 16 };
      rows.push({ labels: { mix: mixes[4][0], workers: '1 × 16 threads' }, params: { ...threaded, rate: 0.8 * capacityOf(threaded) } });
      return rows;
    },
  },
  {
    id: 'hosts',
    title: 'Worker hosts: M swept at a fixed 8000 calls/s offered, N=4 replicas (then 8), W=4 process workers per host',
    labels: ['N', 'M'],
    rows: () => [
      ...[1, 2, 4, 8, 16].map((hosts) => ({ labels: { N: 4, M: hosts }, params: { hosts, rate: 8000 } })),
      { labels: { N: 8, M: 16 }, params: { replicas: 8, hosts: 16, rate: 8000 } },
    ],
  },
  {
    id: 'hashing',
    title: 'Hashing imbalance: S sessions over 16 workers, every call in a session, at 50% of the base bound',
    note: "hot/mean (hash): the hottest worker's share of session calls under rendezvous hashing × 16; (served): the same for calls served",
    labels: ['sessions', 'affinity'],
    extras: ['hashSpread', 'servedSpread', 'affinity'],
    rows: ({ baseCapacity }) => {
      const rows = [];
      for (const count of [16, 64, 1000, 100_000]) {
        for (const affinity of ['strict-queue', 'hint']) {
          rows.push({ labels: { sessions: count.toLocaleString('en-US'), affinity }, params: { rate: 0.5 * baseCapacity, sessions: { count, affinity } } });
        }
      }
      for (const affinity of ['strict-queue', 'hint']) {
        rows.push({
          labels: { sessions: '10,000, one with 10%', affinity },
          params: { rate: 0.5 * baseCapacity, sessions: { count: 10_000, hotShare: 0.1, affinity } },
        });
      }
      for (const affinity of ['strict-queue', 'hint']) {
        rows.push({
          labels: { sessions: '10,000, zipf s=1', affinity },
          params: { rate: 0.5 * baseCapacity, sessions: { count: 10_000, distribution: 'zipf', exponent: 1, affinity } },
        });
      }
      return rows;
    },
  },
  {
    id: 'rtt',
    title: 'Network round trip: tiny calls only, 1500 calls/s offered, one host of 4 process workers (or one threaded worker × 8)',
    labels: ['fleet', 'RTT ms'],
    extras: ['gil'],
    rows: () => {
      const fleets = [
        ['N=1, 4 process workers', { replicas: 1 }],
        ['N=1, threaded ×8', { replicas: 1, workersPerHost: 1, threadsPerWorker: 8 }],
        ['N=4, 4 process workers', { replicas: 4 }],
      ];
      const rows = [];
      for (const [fleet, params] of fleets) {
        for (const rttMs of [0.2, 2]) {
          rows.push({ labels: { fleet, 'RTT ms': rttMs }, params: { hosts: 1, rate: 1500, mix: tinyOnly, sessions: noSessions, rttMs, ...params } });
        }
      }
      return rows;
    },
  },
  {
    id: 'admission',
    title: "The worker's admission queue: N=8 replicas over the base workers (a worker sees at most N = 8 calls at once)",
    note: "workers on refusals: the share of the workers' time spent answering 'busy' (each refusal costs its worker the bidi floor's Python CPU per call)",
    labels: ['admission', 'backoff ms', 'load'],
    extras: ['refusalShare'],
    rows: ({ capacityOf }) => {
      const bound = capacityOf({ replicas: 8 });
      const rows = [];
      for (const share of [0.5, 0.85]) {
        const load = `${Math.round(share * 100)}% of bound`;
        for (const admissionQueue of [0, 1, 3, 7]) {
          rows.push({ labels: { admission: admissionQueue, 'backoff ms': '1 → 16', load }, params: { replicas: 8, rate: share * bound, admissionQueue } });
        }
        for (const busyBackoffMs of [1, 10]) {
          rows.push({
            labels: { admission: 0, 'backoff ms': `${busyBackoffMs}, fixed`, load },
            params: { replicas: 8, rate: share * bound, busyBackoffMs, busyBackoffMaxMs: busyBackoffMs },
          });
        }
        rows.push({ labels: { admission: '1, ideal routing', 'backoff ms': '—', load }, params: { replicas: 8, rate: share * bound, routing: 'ideal', admissionQueue: 1 } });
      }
      return rows;
    },
  },
  {
    id: 'transport',
    title: 'Call channel vs unary: tiny calls only, N=2 replicas, M=2 hosts × 4 workers',
    labels: ['transport', 'offered'],
    rows: () => {
      const rows = [];
      for (const transport of ['channel', 'unary']) {
        for (const rate of [1000, 1800, 2500, 3500]) {
          rows.push({ labels: { transport, offered: rate }, params: { replicas: 2, hosts: 2, rate, transport, mix: tinyOnly, sessions: noSessions } });
        }
      }
      return rows;
    },
  },
  {
    id: 'bandwidth',
    title: 'Payloads: every call sends 256 KiB (answer 1 KiB), 2 ms of work; base fleet; host NIC 1 vs 10 Gbit/s',
    labels: ['NIC Gbit/s', 'offered'],
    extras: ['nic'],
    rows: () => {
      const mix = [{ name: '256 KiB in', share: 1, workMs: 2, gil: true, requestBytes: 256 * 1024, responseBytes: 1024 }];
      const rows = [];
      for (const nicGbps of [1, 10]) {
        for (const rate of [1200, 2400, 3600]) rows.push({ labels: { 'NIC Gbit/s': nicGbps, offered: rate }, params: { nicGbps, rate, mix } });
      }
      return rows;
    },
  },
];
