import pg from 'pg';
import { OUTBOX_CHANNEL, backoff, type Logger } from '@order-service/shared';

export interface OutboxListener {
  /** True while the LISTEN connection is up. */
  readonly connected: boolean;
  stop(): Promise<void>;
}

/**
 * LISTENs for the writers' outbox hints (notifyOutbox, sent after their commits) on a dedicated connection (a pooled one would be
 * handed to other queries and lose the subscription). `onWake` runs for every notification and
 * after every (re)connect, since notifications sent while we were away are gone; the relay
 * treats it as a hint to look, never as data. The connection comes back by itself with backoff.
 */
export function startOutboxListener(databaseUrl: string, logger: Logger, onWake: () => void): OutboxListener {
  let client: pg.Client | undefined;
  let connected = false;
  let stopped = false;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;

  const scheduleReconnect = () => {
    if (stopped || retryTimer) return;
    failures += 1;
    const delay = backoff(failures, { baseMs: 100, maxMs: 5_000 });
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delay);
  };

  const connect = async () => {
    const next = new pg.Client({
      connectionString: databaseUrl,
      application_name: 'order-service-relay-listener',
      connectionTimeoutMillis: 2_000,
      // Finds a silently dead connection (a cut network) instead of waiting forever.
      keepAlive: true,
      keepAliveInitialDelayMillis: 5_000,
    });
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      connected = false;
      if (!stopped) logger.warn({ err: error?.message }, 'outbox listener lost its connection; reconnecting');
      void next.end().catch(() => {});
      scheduleReconnect();
    };
    next.on('error', onLost);
    next.on('end', () => onLost());
    next.on('notification', (message) => {
      if (message.channel === OUTBOX_CHANNEL) onWake();
    });
    client = next;
    try {
      await next.connect();
      await next.query(`LISTEN ${OUTBOX_CHANNEL}`);
      if (stopped) return void next.end().catch(() => {});
      connected = true;
      if (failures > 0) logger.info('outbox listener reconnected');
      failures = 0;
      onWake();
    } catch (error) {
      onLost(error as Error);
    }
  };

  void connect();
  return {
    get connected() {
      return connected;
    },
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      connected = false;
      await client?.end().catch(() => {});
    },
  };
}
