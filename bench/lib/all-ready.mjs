/**
 * Resolves once `count` workers of a pool just created are ready (`pool.ready()` resolves at the
 * first), so that no figure includes a worker still starting; rejects as `ready()` does when none
 * can start.
 */
export async function allWorkersReady(pool, count) {
  const allReady = new Promise((resolve) => {
    let ready = 0;
    pool.on('worker:ready', () => {
      if (++ready === count) resolve();
    });
  });
  await Promise.race([allReady, pool.ready().then(() => allReady)]);
}
