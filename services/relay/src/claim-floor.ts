import type { Clock } from '@order-service/shared';

/**
 * Where the relay's next claim starts (see claimBatch): above the lowest row its last claim saw,
 * so that a busy relay does not walk the dead index entries of everything published before, or
 * from the start of the table. It claims from the start
 * - after a claim that locked nothing: an idle relay looks at the whole table (and finds a row of
 *   a failed batch as soon as the server let go of it);
 * - at least once per `fromStartEveryMs` (a row that committed late, a row another relay let go);
 * - after one of its batches failed: at once, and again once the server has ended the failed
 *   transaction (a session cut off from the relay holds its locks until the lease runs out);
 * - when the first retry it scheduled comes due (a retried row stays below the floor).
 * Rows another relay held and let go are found by the claim from the start once per interval.
 */
export function createClaimFloor(fromStartEveryMs: number, clock: Clock) {
  const FROM_START = '0';
  let floor = FROM_START;
  let fromStartAt = -Infinity;
  // When a claim must start from the start again, earliest first.
  let rescans: number[] = [];
  return {
    /** The id the next claim starts above ('0' is the start: ids begin at 1). */
    next(): string {
      const at = clock.now();
      const due = rescans.length > 0 && rescans[0]! <= at;
      if (at - fromStartAt < fromStartEveryMs && !due) return floor;
      fromStartAt = at;
      rescans = rescans.filter((rescanAt) => rescanAt > at);
      return FROM_START;
    },
    /** After each claim: the lowest id it locked or passed over for an earlier row of its order, if it locked any. */
    claimed(firstCandidateId: string | undefined): void {
      floor = firstCandidateId === undefined ? FROM_START : String(BigInt(firstCandidateId) - 1n);
    },
    /** Rows below the floor are due again in `ms`: claim from the start then. */
    rescanIn(...delaysMs: number[]): void {
      rescans = [...rescans, ...delaysMs.map((ms) => clock.now() + ms)].sort((a, b) => a - b);
    },
  };
}
