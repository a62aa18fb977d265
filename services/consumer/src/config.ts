import * as v from 'valibot';
import { CommonEnv, envHttpPort, envPoolMax, intSetting, type SessionSettings } from '@order-service/shared';

export const ConsumerEnv = v.object({
  ...CommonEnv,
  PORT: envHttpPort(9102),
  /** Statements in flight are few (events are batched), so a small pool is enough. */
  DB_POOL_MAX: envPoolMax(10),
  /**
   * Messages the broker may send ahead of the handlers; about twice the concurrency keeps them
   * busy. With several replicas, a lower prefetch spreads a backlog more evenly.
   */
  CONSUMER_PREFETCH: intSetting({ default: 64, min: 1, max: 10_000, description: 'messages the broker may send ahead of the handlers (unacknowledged at most)' }),
  /**
   * Messages handled at once by this process. Events in hand together are applied in one
   * statement, so this also bounds the batch size. 32 drained a backlog fastest on a 2-core host.
   */
  CONSUMER_CONCURRENCY: intSetting({ default: 32, min: 1, max: 1_000, description: 'messages handled at once by this process; it also bounds the batch applied in one statement' }),
  /** Most events applied per statement while a backlog drains (see apply-batcher.ts); 1 turns batching off. */
  CONSUMER_BATCH_SIZE: intSetting({ default: 50, min: 1, max: 1_000, description: 'most events applied per statement while a backlog drains; `1` turns batching off' }),
  /**
   * How long the first event in hand waits for others to share its statement (see apply-batcher.ts):
   * the payments of the orders one relay claim published arrive within a millisecond or two.
   */
  CONSUMER_BATCH_WAIT_MS: intSetting({ default: 2, min: 0, max: 1_000, description: 'how long the first event in hand waits for others to share its statement; `0`: only those that arrived with it' }),
  /**
   * Deliveries of one message that may fail transiently (Postgres down, a deadlock) before it
   * is dead-lettered. Must stay below the queue's broker-side delivery limit (see topology.ts).
   */
  CONSUMER_MAX_ATTEMPTS: intSetting({ default: 8, min: 1, max: 40, description: 'deliveries of one message that may fail transiently before it is dead-lettered (`max-attempts`)' }),
  CONSUMER_RETRY_DELAY_MS: intSetting({ default: 250, min: 0, max: 60_000, description: 'first back-off before a failed message is requeued; it doubles per attempt' }),
  CONSUMER_RETRY_MAX_DELAY_MS: intSetting({ default: 5_000, min: 0, max: 300_000, description: 'upper bound of that back-off' }),
  /**
   * How long an event for an order we do not know is retried, in case it overtook the order. It
   * waits in the broker's retry queue meanwhile, not in a handler (see topology.ts).
   */
  CONSUMER_UNKNOWN_ORDER_GRACE_MS: intSetting({ default: 10_000, min: 0, max: 3_600_000, description: 'how long an event for an unknown order waits in the retry queue before it is dead-lettered (`unknown-order`)' }),
  /**
   * Largest message body read: a PaymentProcessed is well under 2 KiB. A larger body is
   * dead-lettered as `too-large` without being decoded, so no message can exhaust the heap.
   */
  CONSUMER_MAX_BODY_BYTES: intSetting({ default: 65_536, min: 1_024, max: 16_777_216, description: 'largest message body read; a larger one is dead-lettered undecoded (`too-large`)' }),
  /**
   * Largest size of a message's headers (their JSON text). Larger ones are dead-lettered as
   * `headers-too-large`, and the DLQ copy leaves them out, so the copy always fits a frame.
   */
  CONSUMER_MAX_HEADER_BYTES: intSetting({ default: 16_384, min: 1_024, max: 65_536, description: 'largest size of the headers (as JSON text); larger ones are dead-lettered (`headers-too-large`)' }),
  /** Inbox rows older than this are pruned. Long after any redelivery could still arrive. */
  CONSUMER_INBOX_RETENTION_HOURS: intSetting({ default: 168, min: 1, max: 87_600, description: 'inbox rows older than this are pruned' }),
  CONSUMER_RETENTION_INTERVAL_MS: intSetting({ default: 600_000, min: 1_000, max: 86_400_000, description: 'how often the inbox is pruned' }),
  CONSUMER_CACHE_TTL_SECONDS: intSetting({ default: 60, min: 1, max: 86_400, description: 'lifetime of the cache entry the consumer writes after a status change; keep it equal to `API_CACHE_TTL_SECONDS`' }),
  REDIS_COMMAND_TIMEOUT_MS: intSetting({ default: 250, min: 10, max: 10_000, description: 'per-command Redis timeout of the cache writes' }),
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

/** How the consumer's Postgres sessions run: its statement is planned once for all calls (see APPLY_PAYMENTS). */
export const CONSUMER_SESSION: SessionSettings = { planOnce: true };
