/** The shortest wait between claims while rows keep coming (see gatherMs). */
export const GATHER_MIN_MS = 10;
/** The longest: bounds what gathering adds to an event's latency. */
export const GATHER_MAX_MS = 40;
/** The rows a claim should find under load, when the wait needed for them stays within the bounds. */
const GATHER_ROWS = 16;

/**
 * How long the relay lets rows gather after a short claim, before it claims again (hints or not),
 * from the rate at which the last claim found them (`rows` committed in `sinceLastClaimMs`).
 * Every claim costs a transaction, a publish round and a commit, whatever it finds, so under
 * steady load the relay waits long enough for about GATHER_ROWS rows. At a low rate that wait
 * would be long and buy little: few rows come in any window. So the wait grows with the rate
 * instead: GATHER_MIN_MS up to 100 events/s, then proportional, up to GATHER_MAX_MS from 400
 * events/s. At 300 events/s a claim then takes ~9 rows every 30 ms instead of ~3 every 10 ms.
 */
export function gatherMs(rows: number, sinceLastClaimMs: number): number {
  if (rows <= 0 || sinceLastClaimMs <= 0) return GATHER_MIN_MS;
  const perMs = rows / sinceLastClaimMs;
  const forRows = GATHER_ROWS / perMs;
  // Proportional to the rate: 100 events/s → 10 ms, 400 events/s → 40 ms.
  const byRate = perMs * 100;
  return Math.round(Math.min(GATHER_MAX_MS, Math.max(GATHER_MIN_MS, Math.min(forRows, byRate))));
}
