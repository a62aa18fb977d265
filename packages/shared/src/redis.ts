import { createClient } from 'redis';
import type { Logger } from './logger';

export interface RedisOptions {
  /** Per-command timeout: a stalled Redis must never hold a request. */
  commandTimeoutMs?: number;
}

/**
 * A node-redis client that fails fast: no offline queue (commands reject at once while
 * disconnected), a command timeout, and endless background reconnects.
 * Connecting does not block start-up; callers treat Redis as optional.
 */
export function createRedis(url: string, logger: Logger, options: RedisOptions = {}) {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandTimeoutMs ?? 250 },
    socket: {
      connectTimeout: 1_000,
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2_000),
    },
  });
  let lastWarning = 0;
  client.on('error', (error: Error) => {
    // The client reconnects by itself; log at most one warning per 10 s while it is down.
    const now = Date.now();
    if (now - lastWarning > 10_000) {
      lastWarning = now;
      logger.warn({ err: error.message }, 'redis unavailable; cache bypassed, limiter fails open');
    }
  });
  client.connect().catch(() => {
    // Reported through the 'error' event; reconnects continue in the background.
  });
  return client;
}

export type RedisClient = ReturnType<typeof createRedis>;
