import * as v from 'valibot';
import { CommonEnv, envHttpPort, intSetting, numberSetting, type BackoffPolicy } from '@order-service/shared';

/**
 * Test-only fault hooks: the relay SIGKILLs itself when a batch reaches this point, so the crash
 * and fault-injection suites can prove that nothing is lost. Never set it in production.
 * - `before-publish`: rows are claimed (leased) but nothing was sent.
 * - `after-confirm`: the broker confirmed the batch but its rows are not settled (still in the outbox).
 */
export const CRASH_POINTS = ['before-publish', 'after-confirm'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const RelayVariables = v.object({
  ...CommonEnv,
  PORT: envHttpPort(9101),
  RELAY_BATCH_SIZE: intSetting({ default: 1_000, min: 1, max: 10_000, description: 'rows claimed (and published as one pipelined burst) per batch' }),
  /** Batches one relay keeps in flight at once; overlaps Postgres and broker round trips. */
  RELAY_MAX_BATCHES_IN_FLIGHT: intSetting({ default: 4, min: 1, max: 64, description: 'claimed batches publishing at once' }),
  /** The slowest poll, when idle; the writers' hints after commit normally wake the relay within milliseconds. */
  RELAY_POLL_INTERVAL_MS: intSetting({ default: 1_000, min: 10, max: 600_000, description: 'the slowest poll of an idle relay, behind the hints it `LISTEN`s for' }),
  /** How long one publish may wait for its confirm; `send()` has no timeout of its own. */
  RELAY_PUBLISH_TIMEOUT_MS: intSetting({ default: 5_000, min: 10, max: 600_000, description: 'how long one publish waits for its confirm before the row is retried' }),
  /** How long a claim's transaction may sit idle (a hung relay) before Postgres ends it and frees its rows. */
  RELAY_LEASE_MS: intSetting({ default: 15_000, min: 100, max: 3_600_000, description: 'how long a claim may sit idle (a hung relay) before Postgres ends it and frees its rows; at least 2 × `RELAY_PUBLISH_TIMEOUT_MS`' }),
  RELAY_MAX_ATTEMPTS: intSetting({ default: 10, min: 1, max: 1_000, description: 'publish attempts before a row is parked (kept, counted, logged, re-drivable)' }),
  RELAY_BACKOFF_BASE_MS: intSetting({ default: 1_000, min: 1, max: 3_600_000, description: 'retry delay: base × 2^(attempt−1), capped, between half and all of it' }),
  RELAY_BACKOFF_MAX_MS: intSetting({ default: 60_000, min: 1, max: 86_400_000, description: 'the cap of that delay' }),
  RELAY_RETENTION_HOURS: numberSetting({ default: 24, min: 0, max: 87_600, description: 'published rows older than this are deleted (`0`: at the next sweep)' }),
  RELAY_RETENTION_INTERVAL_MS: intSetting({ default: 60_000, min: 100, max: 86_400_000, description: 'how often the retention sweep runs' }),
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
