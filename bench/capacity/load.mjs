/**
 * The traffic: which class each call is (the mix), which session it belongs to (if any), and
 * when calls arrive: open loop (Poisson at `rate`, each call to a replica picked at random, as a
 * load balancer without stickiness would) or closed loop (`lanes` callers on one replica).
 */
import { cumulativeOf } from './random.mjs';

/** Session ids and the probability that a session call belongs to each. */
export function sessionPopulation(sessions) {
  const { count, distribution, exponent, hotShare } = sessions;
  const weights = new Float64Array(count);
  for (let index = 0; index < count; index += 1) weights[index] = distribution === 'zipf' ? 1 / (index + 1) ** exponent : 1;
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const probabilities = Array.from(weights, (weight, index) => (1 - hotShare) * (weight / total) + (index === 0 ? hotShare : 0));
  const ids = Array.from({ length: count }, (_, index) => `session-${index}`);
  return { ids, probabilities };
}

export function createTraffic(params, random) {
  const classes = params.classes;
  const classCumulative = cumulativeOf(classes.map((callClass) => callClass.share));
  const population = sessionPopulation(params.sessions);
  const sessionCumulative = cumulativeOf(population.probabilities);
  const sessionShare = params.sessions.share;
  return {
    population,
    /** A new call's class and session. */
    draw() {
      const callClass = classes[random.fromCumulative(classCumulative)];
      const sessionId = sessionShare > 0 && random.next() < sessionShare ? population.ids[random.fromCumulative(sessionCumulative)] : undefined;
      return { callClass, sessionId };
    },
  };
}

/** Starts the arrivals; `submit(replicaIndex)` makes and routes one call, `onSettled` is how a closed loop continues. */
export function startArrivals(loop, params, random, submit, endTime) {
  if (params.lanes !== undefined) {
    // A lane's next call starts in an event of its own, so a call refused at once cannot recurse.
    const lane = () => submit(0, () => {
      if (loop.now < endTime) loop.after(0, lane);
    });
    for (let index = 0; index < params.lanes; index += 1) lane();
    return;
  }
  if (!(params.rate > 0)) return;
  const meanGapMs = 1000 / params.rate;
  const arrive = () => {
    submit(random.below(params.replicas));
    const next = loop.now + random.exponential(meanGapMs);
    if (next < endTime) loop.at(next, arrive);
  };
  loop.at(random.exponential(meanGapMs), arrive);
}
