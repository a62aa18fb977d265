import type { Clock } from '@order-service/shared';

/**
 * How long a row's id may come before its commit. Ids are drawn when a row is inserted, and rows
 * commit in another order: the API writes up to four statements at once, and one may commit
 * milliseconds after a later one. A floor taken from a claim this long ago is below every row still
 * committing, except a rare one slower than that, which the claim from the start finds.
 */
export const COMMIT_LAG_MS = 100;

/**
 * Where the relay's next claim starts (see claimBatch): above the lowest row a claim saw at least
 * `commitLagMs` ago, so that a busy relay does not walk the dead index entries of everything
 * published before, or from the start of the table, while a row that committed after a later one
 * is not passed over. It claims from the start
 * - after a claim that locked nothing: an idle relay looks at the whole table (and finds a row of
 *   a failed batch as soon as the server let go of it);
 * - until a claim that found rows is `commitLagMs` old;
 * - at least once per `fromStartEveryMs` (a row that committed later than that, a row another relay let go);
 * - after one of its batches failed: at once, and again once the server has ended the failed
 *   transaction (a session cut off from the relay holds its locks until the lease runs out);
 * - when the first retry it scheduled comes due (a retried row stays below the floor).
 * Rows another relay held and let go are found by the claim from the start once per interval.
 */
export function createClaimFloor(fromStartEveryMs: number, clock: Clock, commitLagMs = COMMIT_LAG_MS) {
  const FROM_START = '0';
  // The floors of recent claims, oldest first; `floor` is the newest one at least commitLagMs old.
  let recent: Array<{ at: number; floor: string }> = [];
  let floor = FROM_START;
  let fromStartAt = -Infinity;
  // When a claim must start from the start again, earliest first.
  let rescans: number[] = [];
  return {
    /** The id the next claim starts above ('0' is the start: ids begin at 1). */
    next(): string {
      const at = clock.now();
      while (recent.length > 0 && recent[0]!.at <= at - commitLagMs) floor = recent.shift()!.floor;
      const due = rescans.length > 0 && rescans[0]! <= at;
      if (at - fromStartAt < fromStartEveryMs && !due) return floor;
      fromStartAt = at;
      rescans = rescans.filter((rescanAt) => rescanAt > at);
      return FROM_START;
    },
    /** After each claim: the lowest id it locked or passed over for an earlier row of its order, if it locked any. */
    claimed(firstCandidateId: string | undefined): void {
      if (firstCandidateId === undefined) {
        recent = [];
        floor = FROM_START;
        return;
      }
      recent.push({ at: clock.now(), floor: String(BigInt(firstCandidateId) - 1n) });
    },
    /** Rows below the floor are due again in `ms`: claim from the start then. */
    rescanIn(...delaysMs: number[]): void {
      rescans = [...rescans, ...delaysMs.map((ms) => clock.now() + ms)].sort((a, b) => a - b);
    },
  };
}
