import { randomInt, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Express } from 'express';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { createDb, createLogger, createRedis, type Db, type ReadinessChecks, type RedisClient } from '@order-service/shared';
import { BASE_REDIS_URL, httpRequest, waitFor, type HttpRequestOptions, type HttpResponse } from '@order-service/testkit';
import { createApp, type AppDeps } from '../../src/app';
import { ORDER_READS_KEPT } from '../../src/orders/get-order';
import { createApiOps, type ApiOps } from '../../src/http/ops';
import { listen } from '../../src/http/server';

/** The seeded catalog (migrations/…_catalog.sql). */
export const Products = {
  beans: { id: '11111111-1111-4111-8111-111111111111', price: 24.9 },
  kettle: { id: '22222222-2222-4222-8222-222222222222', price: 49.99 },
  mug: { id: '33333333-3333-4333-8333-333333333333', price: 12.5 },
  grinder: { id: '44444444-4444-4444-8444-444444444444', price: 149 },
  filters: { id: '55555555-5555-4555-8555-555555555555', price: 0.1 },
} as const;

export interface TestApiOptions {
  databaseUrl: string;
  redisUrl?: string;
  config?: Partial<AppDeps['config']>;
  optionalChecks?: ReadinessChecks;
  /** Wait until Redis is connected before returning (default true). */
  awaitRedis?: boolean;
  /** API_REQUEST_TIMEOUT_MS (default 10 s, as in production). */
  requestTimeoutMs?: number;
}

export interface TestApi {
  url: string;
  /** The express app itself, to read its routes. */
  app: Express;
  /** The app's own pool (through whatever proxy `databaseUrl` names). */
  db: Db;
  redis: RedisClient;
  server: Server;
  ops: ApiOps;
  close(): Promise<void>;
}

/** The real app on port 0, with its own pool and Redis client, as main.ts wires it. */
export async function startTestApi(options: TestApiOptions): Promise<TestApi> {
  const logger = createLogger('api-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const db = createDb(options.databaseUrl, { max: 10, applicationName: 'api-test' });
  const redis = createRedis(options.redisUrl ?? BASE_REDIS_URL, logger, { commandTimeoutMs: 200, cachedReads: ORDER_READS_KEPT });
  if (options.awaitRedis ?? true) await waitFor(() => redis.isReady, { what: 'redis to connect' });
  const ops = createApiOps(db, options.optionalChecks);
  const app = createApp({
    db,
    redis,
    logger,
    config: {
      API_RATE_LIMIT_ENABLED: false,
      API_RATE_LIMIT_MAX: 5,
      API_RATE_LIMIT_WINDOW_MS: 60_000,
      API_TRUST_PROXY_HOPS: 0,
      API_CACHE_TTL_SECONDS: 60,
      ...options.config,
    },
    ops,
  });
  const server = await listen(app, { port: 0, host: '127.0.0.1', requestTimeoutMs: options.requestTimeoutMs ?? 10_000 });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    app,
    db,
    redis,
    server,
    ops,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.destroy();
      redis.destroy();
    },
  };
}

/** A loopback address of the test's own (Linux routes all of 127/8 to lo): its own rate-limit bucket. */
export const uniqueLoopbackIp = () => `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;

/** A random address in 198.18.0.0/15 (reserved for testing), for X-Forwarded-For. */
export const uniqueClientIp = () => `198.${randomInt(18, 20)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;

/** A client bound to one base URL and, optionally, fixed headers or source address. */
export function client(baseUrl: string, defaults: Pick<HttpRequestOptions, 'headers' | 'localAddress' | 'timeoutMs'> = {}) {
  const send = (method: string, path: string, options: HttpRequestOptions = {}): Promise<HttpResponse> =>
    httpRequest(`${baseUrl}${path}`, { ...defaults, ...options, method, headers: { ...defaults.headers, ...options.headers } });
  return {
    get: (path: string, options?: HttpRequestOptions) => send('GET', path, options),
    post: (path: string, body: unknown, options?: HttpRequestOptions) => send('POST', path, { ...options, body }),
    send,
  };
}

/** A valid POST /api/orders body for a fresh customer: 3 × 0.10 + 3 × 24.90 = 75.00. */
export function orderBody(overrides: Record<string, unknown> = {}) {
  return {
    customer_id: randomUUID(),
    items: [
      { product_id: Products.filters.id, quantity: 3 },
      { product_id: Products.beans.id, quantity: 3 },
    ],
    shipping_address: '1 Test Street, Testville',
    ...overrides,
  };
}

export interface RowCounts {
  orders: number;
  order_items: number;
  outbox: number;
  idempotency_keys: number;
}

export async function countRows(db: Db): Promise<RowCounts> {
  const { rows } = await sql<RowCounts>`
    SELECT (SELECT count(*)::int FROM orders) AS orders,
           (SELECT count(*)::int FROM order_items) AS order_items,
           (SELECT count(*)::int FROM outbox) AS outbox,
           (SELECT count(*)::int FROM idempotency_keys) AS idempotency_keys`.execute(db);
  return rows[0]!;
}
