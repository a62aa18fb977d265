import * as v from 'valibot';
import { CommonEnv, envHttpPort, envInt, envNumber, type BackoffPolicy } from '@order-service/shared';

/**
 * Test-only fault hooks: the relay SIGKILLs itself when a batch reaches this point, so the crash
 * and fault-injection suites can prove that nothing is lost. Never set it in production.
 * - `before-publish`: rows are claimed (leased) but nothing was sent.
 * - `after-confirm`: the broker confirmed the batch but its rows are not marked published yet.
 */
export const CRASH_POINTS = ['before-publish', 'after-confirm'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const RelayVariables = v.object({
  ...CommonEnv,
  PORT: envHttpPort(9101),
  RELAY_BATCH_SIZE: v.pipe(envInt(1_000, 1, 10_000), v.description('rows claimed (and published as one pipelined burst) per batch')),
  /** Batches one relay keeps in flight at once; overlaps Postgres and broker round trips. */
  RELAY_MAX_BATCHES_IN_FLIGHT: v.pipe(envInt(4, 1, 64), v.description('claimed batches publishing at once')),
  /** The slowest poll, when idle; the writers' hints after commit normally wake the relay within milliseconds. */
  RELAY_POLL_INTERVAL_MS: v.pipe(envInt(1_000, 10, 600_000), v.description('the slowest poll of an idle relay, behind the hints it `LISTEN`s for')),
  /** How long one publish may wait for its confirm; `send()` has no timeout of its own. */
  RELAY_PUBLISH_TIMEOUT_MS: v.pipe(
    envInt(5_000, 10, 600_000),
    v.description('how long one publish waits for its confirm before the row is retried'),
  ),
  /** How long a claim's transaction may sit idle (a hung relay) before Postgres ends it and frees its rows. */
  RELAY_LEASE_MS: v.pipe(
    envInt(15_000, 100, 3_600_000),
    v.description('how long a claim may sit idle (a hung relay) before Postgres ends it and frees its rows; at least 2 × `RELAY_PUBLISH_TIMEOUT_MS`'),
  ),
  RELAY_MAX_ATTEMPTS: v.pipe(envInt(10, 1, 1_000), v.description('publish attempts before a row is parked (kept, counted, logged, re-drivable)')),
  RELAY_BACKOFF_BASE_MS: v.pipe(envInt(1_000, 1, 3_600_000), v.description('retry delay: base × 2^(attempt−1), capped, between half and all of it')),
  RELAY_BACKOFF_MAX_MS: v.pipe(envInt(60_000, 1, 86_400_000), v.description('the cap of that delay')),
  RELAY_RETENTION_HOURS: v.pipe(envNumber(24, 0, 87_600), v.description('published rows older than this are deleted (`0`: at the next sweep)')),
  RELAY_RETENTION_INTERVAL_MS: v.pipe(envInt(60_000, 100, 86_400_000), v.description('how often the retention sweep runs')),
  RELAY_CRASH_POINT: v.pipe(
    v.optional(v.picklist(CRASH_POINTS, `must be one of ${CRASH_POINTS.join(', ')} (test only)`)),
    v.description('**test only**: `before-publish` or `after-confirm` makes the relay SIGKILL itself when a batch reaches that point'),
  ),
});

type Variables = v.InferOutput<typeof RelayVariables>;
type MillisKey = 'RELAY_LEASE_MS' | 'RELAY_PUBLISH_TIMEOUT_MS' | 'RELAY_BACKOFF_MAX_MS' | 'RELAY_BACKOFF_BASE_MS';

/** A rule between two variables, reported against `key` with its own value (not the whole env). */
const atLeast = (key: MillisKey, other: MillisKey, factor: number) =>
  v.rawCheck<Variables>(({ dataset, addIssue }) => {
    if (!dataset.typed || dataset.value[key] >= factor * dataset.value[other]) return;
    addIssue({
      message: `must be at least ${factor === 1 ? '' : `${factor} × `}${other}`,
      input: String(dataset.value[key]),
      path: [{ type: 'object', origin: 'value', input: dataset.value, key, value: dataset.value[key] }],
    });
  });

export const RelayEnv = v.pipe(
  RelayVariables,
  // A lease shorter than a publish attempt would let a second relay take rows still in flight.
  atLeast('RELAY_LEASE_MS', 'RELAY_PUBLISH_TIMEOUT_MS', 2),
  atLeast('RELAY_BACKOFF_MAX_MS', 'RELAY_BACKOFF_BASE_MS', 1),
);

export type RelayConfig = v.InferOutput<typeof RelayEnv>;

export interface RelaySettings {
  batchSize: number;
  maxBatchesInFlight: number;
  pollIntervalMs: number;
  publishTimeoutMs: number;
  leaseMs: number;
  maxAttempts: number;
  backoff: BackoffPolicy;
  retentionMs: number;
  retentionIntervalMs: number;
}

/** The relay's settings in its own terms (milliseconds, a backoff policy), from the environment. */
export function relaySettings(config: RelayConfig): RelaySettings {
  return {
    batchSize: config.RELAY_BATCH_SIZE,
    maxBatchesInFlight: config.RELAY_MAX_BATCHES_IN_FLIGHT,
    pollIntervalMs: config.RELAY_POLL_INTERVAL_MS,
    publishTimeoutMs: config.RELAY_PUBLISH_TIMEOUT_MS,
    leaseMs: config.RELAY_LEASE_MS,
    maxAttempts: config.RELAY_MAX_ATTEMPTS,
    backoff: { baseMs: config.RELAY_BACKOFF_BASE_MS, maxMs: config.RELAY_BACKOFF_MAX_MS },
    retentionMs: Math.round(config.RELAY_RETENTION_HOURS * 3_600_000),
    retentionIntervalMs: config.RELAY_RETENTION_INTERVAL_MS,
  };
}
