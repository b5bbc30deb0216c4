/**
 * Times `once` up to `repeats` times, stopping early (after at least one) once `budgetMs` is
 * spent, so a peer that takes seconds per repetition costs a few seconds of the run, not minutes.
 * Returns the duration of each repetition in ms and the CPU meter's reading over all of them.
 */
import { startCpuMeter } from './cpu.mjs';

export async function timeRepeats(once, { repeats, budgetMs = Number.POSITIVE_INFINITY, pythonPids = [] }) {
  const durations = [];
  const stopCpuMeter = startCpuMeter(pythonPids);
  const startedAt = performance.now();
  while (durations.length < repeats && (durations.length === 0 || performance.now() - startedAt < budgetMs)) {
    const repeatStartedAt = performance.now();
    await once();
    durations.push(performance.now() - repeatStartedAt);
  }
  return { durations, ...stopCpuMeter() };
}
