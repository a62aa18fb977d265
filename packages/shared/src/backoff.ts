/** How one kind of retry backs off: the first delay, and the most it may grow to. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * The delay before the next try after `attempt` failed ones (1 after the first failure): `baseMs`
 * doubled per further failure, capped at `maxMs`, with "equal jitter": half of it fixed, half random.
 * Equal jitter rather than ±25 % or full jitter because the cap stays a real cap (never exceeded),
 * a retry always waits at least half its delay (it never comes straight back at what just failed),
 * and callers that failed together (the rows of one batch, replicas that lost the broker at the same
 * moment) still spread over the other half.
 */
export function backoff(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  // 2^30 times any base is past any cap; the bound keeps the arithmetic finite for huge attempt counts.
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
