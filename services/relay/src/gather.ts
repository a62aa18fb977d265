/** The shortest wait between claims while rows keep coming (see gatherMs). */
export const GATHER_MIN_MS = 10;
/**
 * The longest wait: what the gathering may add to an event's latency. 40 ms held figure 10
 * (POST → PROCESSING p99 ≤ 100 ms) to 200 orders/s: at 300/s it waited 30 ms a claim and the p99
 * was 102 ms. With 20 ms, 300/s held (p99 61–84 ms in three runs) at the same CPU per order.
 */
export const GATHER_MAX_MS = 20;
/**
 * The rows a claim should find under load, when waiting for them stays short. At 1,900 events/s
 * beside the API (figure 1), 64 instead of 16 cut the relay's Postgres CPU by a third (12.9 → 8.4 s).
 */
const GATHER_ROWS = 64;
/** Below the wait GATHER_ROWS need, the wait is this many ms per event/ms of rate (100 events/s → 10 ms). */
const MS_PER_RATE = 100;

/**
 * How long the relay lets rows gather after a short claim, before it claims again (hints or not),
 * from the rate at which the last claim found them (`rows` committed in the `sinceLastFoundMs` since
 * the claim before it that found any).
 * Every claim costs a transaction, a publish round and a commit, whatever it finds, so under
 * load a longer wait makes fewer, larger claims. The wait is the shortest of the time GATHER_ROWS
 * rows take to arrive, a time that grows with the rate, and GATHER_MAX_MS, and at least
 * GATHER_MIN_MS. So an idle relay waits 10 ms; at 150 events/s a claim takes ~2 rows every 15 ms
 * instead of ~1 every 10 ms; from 200 events/s the wait is 20 ms, until GATHER_ROWS rows come
 * sooner than that (above 3,200 events/s: 16 ms at 4,000/s).
 */
export function gatherMs(rows: number, sinceLastFoundMs: number): number {
  if (rows <= 0 || sinceLastFoundMs <= 0) return GATHER_MIN_MS;
  const perMs = rows / sinceLastFoundMs;
  return Math.round(Math.max(GATHER_MIN_MS, Math.min(GATHER_ROWS / perMs, perMs * MS_PER_RATE, GATHER_MAX_MS)));
}
