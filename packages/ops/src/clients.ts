import type { Connection } from 'rabbitmq-client';
import { createDb, type Db } from '@order-service/shared/db/index';
import type { RedisClient } from '@order-service/shared/redis';
import type { OpsConfig } from './config';

/**
 * The services' Redis client (no offline queue, a command timeout), waited for with a deadline.
 * It would reconnect in the background; `close()` at the end of the command stops that.
 */
async function connectRedis(url: string, timeoutMs: number): Promise<RedisClient> {
  const [{ createRedis }, { createLogger }] = await Promise.all([import('@order-service/shared/redis'), import('@order-service/shared/logger')]);
  const client = createRedis(url, createLogger('ops', 'silent'), { commandTimeoutMs: timeoutMs });
  if (client.isReady) return client;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.destroy();
      reject(new Error(`redis did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return client;
}

/**
 * The connections a command needs, opened on first use and closed once at the end. A CLI must
 * fail fast rather than reconnect forever, so every connection has a deadline and no retries.
 */
export interface Clients {
  db(): Db;
  amqp(): Promise<Connection>;
  redis(): Promise<RedisClient>;
  close(): Promise<void>;
}

export function createClients(config: OpsConfig): Clients {
  let db: Db | undefined;
  let amqp: Promise<Connection> | undefined;
  let redis: Promise<RedisClient> | undefined;
  const timeout = config.OPS_TIMEOUT_MS;

  return {
    db() {
      db ??= createDb(config.DATABASE_URL, {
        max: 2,
        applicationName: 'order-service-ops',
        statementTimeoutMs: 60_000,
      });
      return db;
    },
    amqp() {
      amqp ??= (async () => {
        const { Connection } = await import('rabbitmq-client');
        const { amqpConnectionOptions } = await import('@order-service/shared/amqp');
        const connection = new Connection({
          ...amqpConnectionOptions(config.RABBITMQ_URL),
          connectionName: 'order-service-ops',
          connectionTimeout: timeout,
          acquireTimeout: timeout,
          retryLow: 100,
          retryHigh: 500,
        });
        // Errors surface through the calls that fail; without a listener they would crash the CLI.
        connection.on('error', () => {});
        await connection.onConnect(timeout);
        return connection;
      })();
      return amqp;
    },
    redis() {
      redis ??= connectRedis(config.REDIS_URL, timeout);
      return redis;
    },
    async close() {
      const closing: Array<Promise<unknown>> = [];
      if (db) closing.push(db.destroy());
      if (amqp) closing.push(amqp.then((connection) => connection.close()));
      if (redis) closing.push(redis.then((client) => client.close()));
      await Promise.allSettled(closing);
    },
  };
}
