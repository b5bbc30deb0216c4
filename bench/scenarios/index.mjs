/** The scenarios, in the order they run and are printed. */
import binaryRoundTrip from './binary-round-trip.mjs';
import pythonWork from './python-work.mjs';
import sessionState from './session-state.mjs';
import sharedWorker from './shared-worker.mjs';
import slowConsumer from './slow-consumer.mjs';
import startToReady from './start-to-ready.mjs';
import streamLatency from './stream-latency.mjs';
import streamThroughput from './stream-throughput.mjs';
import tinyInFlight from './tiny-in-flight.mjs';
import tinySequential from './tiny-sequential.mjs';

export const scenarios = [
  tinySequential,
  tinyInFlight,
  pythonWork,
  streamThroughput,
  streamLatency,
  slowConsumer,
  binaryRoundTrip,
  startToReady,
  sessionState,
  sharedWorker,
];

export function scenarioById(id) {
  const scenario = scenarios.find((candidate) => candidate.id === id);
  if (!scenario) throw new Error(`no scenario "${id}"; there are: ${scenarios.map((candidate) => candidate.id).join(', ')}`);
  return scenario;
}
