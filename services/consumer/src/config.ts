import * as v from 'valibot';
import { CommonEnv, envHttpPort, envInt, envPoolMax } from '@order-service/shared';

export const ConsumerEnv = v.object({
  ...CommonEnv,
  PORT: envHttpPort(9102),
  /** Statements in flight are few (events are batched), so a small pool is enough. */
  DB_POOL_MAX: envPoolMax(10),
  /**
   * Messages the broker may send ahead of the handlers; about twice the concurrency keeps them
   * busy. With several replicas, a lower prefetch spreads a backlog more evenly.
   */
  CONSUMER_PREFETCH: v.pipe(envInt(64, 1, 10_000), v.description('messages the broker may send ahead of the handlers (unacknowledged at most)')),
  /**
   * Messages handled at once by this process. Events in hand together are applied in one
   * statement, so this also bounds the batch size. 32 drained a backlog fastest on a 2-core host.
   */
  CONSUMER_CONCURRENCY: v.pipe(
    envInt(32, 1, 1_000),
    v.description('messages handled at once by this process; it also bounds the batch applied in one statement'),
  ),
  /** Most events applied per statement while a backlog drains (see apply-batcher.ts); 1 turns batching off. */
  CONSUMER_BATCH_SIZE: v.pipe(
    envInt(50, 1, 1_000),
    v.description('most events applied per statement while a backlog drains; `1` turns batching off'),
  ),
  /**
   * Deliveries of one message that may fail transiently (Postgres down, a deadlock) before it
   * is dead-lettered. Must stay below the queue's broker-side delivery limit (see topology.ts).
   */
  CONSUMER_MAX_ATTEMPTS: v.pipe(
    envInt(8, 1, 40),
    v.description('deliveries of one message that may fail transiently before it is dead-lettered (`max-attempts`)'),
  ),
  CONSUMER_RETRY_DELAY_MS: v.pipe(
    envInt(250, 0, 60_000),
    v.description('first back-off before a failed message is requeued; it doubles per attempt'),
  ),
  CONSUMER_RETRY_MAX_DELAY_MS: v.pipe(envInt(5_000, 0, 300_000), v.description('upper bound of that back-off')),
  /**
   * How long an event for an order we do not know is retried, in case it overtook the order. It
   * waits in the broker's retry queue meanwhile, not in a handler (see topology.ts).
   */
  CONSUMER_UNKNOWN_ORDER_GRACE_MS: v.pipe(
    envInt(10_000, 0, 3_600_000),
    v.description('how long an event for an unknown order waits in the retry queue before it is dead-lettered (`unknown-order`)'),
  ),
  /**
   * Largest message body read: a PaymentProcessed is well under 2 KiB. A larger body is
   * dead-lettered as `too-large` without being decoded, so no message can exhaust the heap.
   */
  CONSUMER_MAX_BODY_BYTES: v.pipe(
    envInt(65_536, 1_024, 16_777_216),
    v.description('largest message body read; a larger one is dead-lettered undecoded (`too-large`)'),
  ),
  /**
   * Largest size of a message's headers (their JSON text). Larger ones are dead-lettered as
   * `headers-too-large`, and the DLQ copy leaves them out, so the copy always fits a frame.
   */
  CONSUMER_MAX_HEADER_BYTES: v.pipe(
    envInt(16_384, 1_024, 65_536),
    v.description('largest size of the headers (as JSON text); larger ones are dead-lettered (`headers-too-large`)'),
  ),
  /** Inbox rows older than this are pruned. Long after any redelivery could still arrive. */
  CONSUMER_INBOX_RETENTION_HOURS: v.pipe(envInt(168, 1, 87_600), v.description('inbox rows older than this are pruned')),
  CONSUMER_RETENTION_INTERVAL_MS: v.pipe(envInt(600_000, 1_000, 86_400_000), v.description('how often the inbox is pruned')),
  CONSUMER_CACHE_TTL_SECONDS: v.pipe(
    envInt(60, 1, 86_400),
    v.description('lifetime of a cache tombstone; keep it equal to `API_CACHE_TTL_SECONDS`'),
  ),
  REDIS_COMMAND_TIMEOUT_MS: v.pipe(envInt(250, 10, 10_000), v.description('per-command Redis timeout of the cache invalidations')),
  /**
   * TEST ONLY. `after-commit` kills the process (SIGKILL) right after an event's transaction
   * commits and before the message is acked, so tests can prove a redelivery changes nothing.
   * Never set it in production.
   */
  CONSUMER_CRASH_POINT: v.pipe(
    v.optional(v.picklist(['after-commit'], 'must be after-commit (test only) or unset')),
    v.description('**test only**: `after-commit` makes the consumer SIGKILL itself after a commit, before the ack'),
  ),
});

export type ConsumerConfig = v.InferOutput<typeof ConsumerEnv>;
