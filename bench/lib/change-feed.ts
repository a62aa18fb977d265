/**
 * Reads a table with a bigserial id as a change feed: each look asks only for ids above `floor`,
 * and returns each row once. Ids are handed out at insert but become visible at commit, and
 * concurrent transactions commit out of order, so a look can see id 12 while 11 is still in flight.
 * Reading from the highest id seen would skip 11 for good; instead the floor only rises past ids
 * that were seen, and past a gap once it has stayed open `gapGiveUpMs` (a rolled-back insert
 * leaves one for ever). The rows above the floor are read again until the floor passes them.
 */
export function createChangeFeed<Row extends { id: string }>(
  look: (floor: string) => Promise<Row[]>,
  { floor: start = '0', gapGiveUpMs = 1_000, now = () => performance.now() }: { floor?: string; gapGiveUpMs?: number; now?: () => number } = {},
) {
  let floor = BigInt(start);
  const seen = new Set<bigint>();
  let gapSince: number | undefined;
  /** Moves the floor up past the ids seen right above it. */
  const advance = () => {
    while (seen.delete(floor + 1n)) floor += 1n;
  };

  return {
    /** The rows committed since the last look that no earlier look returned, in id order. */
    async next(): Promise<Row[]> {
      const fresh = (await look(floor.toString())).filter((row) => !seen.has(BigInt(row.id)));
      for (const row of fresh) seen.add(BigInt(row.id));
      advance();
      if (seen.size === 0) gapSince = undefined;
      else if (gapSince === undefined) gapSince = now();
      else if (now() - gapSince >= gapGiveUpMs) {
        // The lowest id seen follows a gap that did not close: go on above it.
        floor = [...seen].reduce((low, id) => (id < low ? id : low)) - 1n;
        advance();
        gapSince = seen.size === 0 ? undefined : now();
      }
      return fresh;
    },
  };
}
