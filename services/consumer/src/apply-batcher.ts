import type { Db, PaymentProcessed } from '@order-service/shared';
import { applyPayment, applyPayments, type ApplyResult } from './apply-payment';

interface Waiting {
  event: PaymentProcessed;
  resolve(result: ApplyResult): void;
  reject(error: unknown): void;
}

export type ApplyFn = (event: PaymentProcessed) => Promise<ApplyResult>;

/**
 * Micro-batching in front of applyPayments: events handed in during one turn of the event loop
 * are applied together, one statement per batch of up to `maxBatch`, which saves most of the
 * per-event round trips and commits when a backlog drains. A lone event is applied on its own at
 * once, so a quiet consumer adds no latency.
 *
 * Each caller still gets its own event's result or error: a failed batch is retried event by
 * event, so one event that cannot be written never takes its batch-mates down with it.
 * A batch never holds two events for one order (or with one id): those wait for the next round.
 * Ids are compared as the schema normalised them (lower case), as Postgres compares them.
 */
export function createApplyBatcher(db: Db, maxBatch: number): ApplyFn {
  let waiting: Waiting[] = [];
  let scheduled = false;

  async function runBatch(batch: Waiting[]) {
    let results: ApplyResult[];
    try {
      results = await applyPayments(db, batch.map((item) => item.event));
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      await Promise.all(batch.map((item) => applyPayment(db, item.event).then(item.resolve, item.reject)));
      return;
    }
    batch.forEach((item, index) => item.resolve(results[index]!));
  }

  /** Splits into batches of distinct orders and ids; a later round holds the repeats. */
  async function flush(items: Waiting[]) {
    while (items.length > 0) {
      const round: Waiting[][] = [];
      const later: Waiting[] = [];
      let batch: Waiting[] = [];
      const keys = new Set<string>();
      for (const item of items) {
        if (keys.has(item.event.data.order_id) || keys.has(item.event.id)) {
          later.push(item);
          continue;
        }
        keys.add(item.event.data.order_id).add(item.event.id);
        batch.push(item);
        if (batch.length === maxBatch) {
          round.push(batch);
          batch = [];
        }
      }
      if (batch.length > 0) round.push(batch);
      await Promise.all(round.map(runBatch));
      items = later;
    }
  }

  return (event) =>
    new Promise<ApplyResult>((resolve, reject) => {
      waiting.push({ event, resolve, reject });
      if (scheduled) return;
      scheduled = true;
      // After the I/O callbacks of this turn: every message that arrived with this one joins it.
      setImmediate(() => {
        scheduled = false;
        const items = waiting;
        waiting = [];
        void flush(items);
      });
    });
}
