import * as v from 'valibot';
import { CommonEnv, envInt, envPort } from '@order-service/shared';

export const ConsumerEnv = v.object({
  ...CommonEnv,
  PORT: envPort(9102),
  /** Statements in flight are few (events are batched), so a small pool is enough. */
  DB_POOL_MAX: envInt(10, 1, 500),
  /**
   * Messages the broker may send ahead of the handlers; about twice the concurrency keeps them
   * busy. With several replicas, a lower prefetch spreads a backlog more evenly.
   */
  CONSUMER_PREFETCH: envInt(64, 1, 10_000),
  /**
   * Messages handled at once by this process. Events in hand together are applied in one
   * statement, so this also bounds the batch size. 32 drained a backlog fastest on a 2-core host.
   */
  CONSUMER_CONCURRENCY: envInt(32, 1, 1_000),
  /** Most events applied per statement while a backlog drains (see apply-batcher.ts); 1 turns batching off. */
  CONSUMER_BATCH_SIZE: envInt(50, 1, 1_000),
  /**
   * Deliveries of one message that may fail transiently (Postgres down, a deadlock) before it
   * is dead-lettered. Must stay below the queue's broker-side delivery limit (see topology.ts).
   */
  CONSUMER_MAX_ATTEMPTS: envInt(8, 1, 40),
  /** First back-off before a failed message is requeued; it doubles per attempt. */
  CONSUMER_RETRY_DELAY_MS: envInt(250, 0, 60_000),
  /** Upper bound of that back-off. */
  CONSUMER_RETRY_MAX_DELAY_MS: envInt(5_000, 0, 300_000),
  /**
   * How long an event for an order we do not know is retried, in case it overtook the order. It
   * waits in the broker's retry queue meanwhile, not in a handler (see topology.ts).
   */
  CONSUMER_UNKNOWN_ORDER_GRACE_MS: envInt(10_000, 0, 3_600_000),
  /**
   * Largest message body read: a PaymentProcessed is well under 2 KiB. A larger body is
   * dead-lettered as `too-large` without being decoded, so no message can exhaust the heap.
   */
  CONSUMER_MAX_BODY_BYTES: envInt(65_536, 1_024, 16_777_216),
  /**
   * Largest size of a message's headers (their JSON text). Larger ones are dead-lettered as
   * `headers-too-large`, and the DLQ copy leaves them out, so the copy always fits a frame.
   */
  CONSUMER_MAX_HEADER_BYTES: envInt(16_384, 1_024, 65_536),
  /** Inbox rows older than this are pruned. Long after any redelivery could still arrive. */
  CONSUMER_INBOX_RETENTION_HOURS: envInt(168, 1, 87_600),
  /** How often the inbox is pruned. */
  CONSUMER_RETENTION_INTERVAL_MS: envInt(600_000, 1_000, 86_400_000),
  /** Lifetime of a cache tombstone; keep it equal to the API's API_CACHE_TTL_SECONDS. */
  CONSUMER_CACHE_TTL_SECONDS: envInt(60, 1, 86_400),
  REDIS_COMMAND_TIMEOUT_MS: envInt(250, 10, 10_000),
  /**
   * TEST ONLY. `after-commit` kills the process (SIGKILL) right after an event's transaction
   * commits and before the message is acked, so tests can prove a redelivery changes nothing.
   * Never set it in production.
   */
  CONSUMER_CRASH_POINT: v.optional(v.picklist(['after-commit'], 'must be after-commit (test only) or unset')),
});

export type ConsumerConfig = v.InferOutput<typeof ConsumerEnv>;
