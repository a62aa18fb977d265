import type { Db } from '@order-service/shared';
import { insertOrders, type NewOrder, type OrderWritten } from './orders-repository';

/**
 * Statements of orders that may run at once. Orders that arrive while this many are running wait
 * for the next one and go in it together, so under load a commit (and its WAL flush, the
 * bottleneck of an order in Postgres) carries many orders; when idle, an order goes at once.
 */
export const WRITES_IN_FLIGHT = 4;

/** The most orders one statement carries. */
export const ORDERS_PER_WRITE = 64;

/** Writes orders; concurrent writes may share a statement, but each order is decided on its own. */
export interface OrderWriter {
  write(order: NewOrder): Promise<OrderWritten>;
}

interface Pending {
  order: NewOrder;
  resolve(written: OrderWritten): void;
  reject(error: unknown): void;
}

/**
 * Group commit in the application: the orders of concurrent requests are written together, in one
 * statement (insertOrders), once a statement is free. A statement that fails (Postgres away, a
 * lock timeout, a row another order made invalid) fails no order but its own: the orders it
 * carried are written again one by one, and each gets its own outcome.
 */
export function createOrderWriter(db: Db, limits = { inFlight: WRITES_IN_FLIGHT, perWrite: ORDERS_PER_WRITE }): OrderWriter {
  const waiting: Pending[] = [];
  let running = 0;
  let flushScheduled = false;

  async function writeTogether(batch: Pending[]) {
    try {
      const written = await insertOrders(
        db,
        batch.map((pending) => pending.order),
      );
      batch.forEach((pending, index) => pending.resolve(written[index]!));
    } catch (error) {
      if (batch.length === 1) batch[0]!.reject(error);
      else await Promise.all(batch.map((pending) => writeTogether([pending])));
    }
  }

  function flush() {
    flushScheduled = false;
    while (running < limits.inFlight && waiting.length > 0) {
      running += 1;
      void writeTogether(waiting.splice(0, limits.perWrite)).finally(() => {
        running -= 1;
        scheduleFlush();
      });
    }
  }

  // After the I/O callbacks of this turn of the event loop: the requests that arrived together go together.
  function scheduleFlush() {
    if (flushScheduled || running >= limits.inFlight || waiting.length === 0) return;
    flushScheduled = true;
    setImmediate(flush);
  }

  return {
    write(order) {
      return new Promise<OrderWritten>((resolve, reject) => {
        waiting.push({ order, resolve, reject });
        scheduleFlush();
      });
    },
  };
}
