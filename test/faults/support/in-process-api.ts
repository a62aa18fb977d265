import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '@order-service/api/app';
import { createDb, createLogger, createRedis, type Db } from '@order-service/shared';
import { BASE_REDIS_URL, waitFor } from '@order-service/testkit';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface InProcessApi {
  db: Db;
  /** Sends any method, path, headers and bytes (no client-side validation of the content type). */
  send(method: string, path: string, options?: { headers?: Record<string, string>; body?: string | Buffer }): Promise<Answer>;
  close(): Promise<void>;
}

/**
 * The real express app (createApp) on port 0 in this process, against the system's database and
 * the shared Redis, with the rate limit off: thousands of fuzzed requests without a process hop.
 */
export async function startInProcessApi(databaseUrl: string): Promise<InProcessApi> {
  const logger = createLogger('fuzz-api', 'silent');
  const db = createDb(databaseUrl, { max: 5, applicationName: 'order-service-fuzz' });
  const redis = createRedis(BASE_REDIS_URL, logger, { commandTimeoutMs: 200 });
  await waitFor(() => redis.isReady, { what: 'redis' });
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
    },
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const port = (server.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  const send: InProcessApi['send'] = (method, path, { headers = {}, body } = {}) =>
    new Promise((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      request.setTimeout(15_000, () => request.destroy(new Error(`${method} ${path}: no answer within 15 s`)));
      request.on('error', reject);
      request.end(body);
    });

  return {
    db,
    send,
    async close() {
      agent.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await db.destroy();
      redis.destroy();
    },
  };
}
