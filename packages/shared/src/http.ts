import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Named readiness checks: each resolves true when its dependency is usable. */
export type ReadinessChecks = Record<string, () => Promise<boolean>>;

/** Runs every check with a deadline; a check that throws or is too slow counts as down. */
export async function checkReadiness(checks: ReadinessChecks, timeoutMs = 1_000) {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const ok = await Promise.race([check().catch(() => false), timeout]);
      clearTimeout(timer);
      return [name, ok ? 'up' : 'down'] as const;
    }),
  );
  const status = Object.fromEntries(entries);
  return { ready: entries.every(([, state]) => state === 'up'), checks: status };
}

export interface OpsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * The operations listener of the relay and the consumer: /healthz (the process is alive),
 * /readyz (its dependencies answer) and /metrics (Prometheus text). PORT=0 picks a free port.
 */
export async function startOpsServer(options: {
  port: number;
  registry: Registry;
  checks: ReadinessChecks;
}): Promise<OpsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'application/json', '{"status":"ok"}');
    if (path === '/readyz') {
      void checkReadiness(options.checks).then(({ ready, checks }) =>
        send(ready ? 200 : 503, 'application/json', JSON.stringify({ status: ready ? 'ready' : 'not ready', checks })),
      );
      return;
    }
    if (path === '/metrics') {
      void options.registry.metrics().then(
        (text) => send(200, options.registry.contentType, text),
        () => send(500, 'text/plain', 'metrics unavailable\n'),
      );
      return;
    }
    send(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, resolve);
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would otherwise hold close() open until it times out.
        server.closeAllConnections();
      }),
  };
}
