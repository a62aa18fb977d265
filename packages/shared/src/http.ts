import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger';

/** Named readiness checks: each resolves true when its dependency is usable. */
export type ReadinessChecks = Record<string, () => Promise<boolean>>;

/** The outcome of a readiness check: ready or not, and the state of each dependency. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, 'up' | 'down'>;
}

/** Runs every check with a deadline; a check that throws or is too slow counts as down. */
export async function checkReadiness(checks: ReadinessChecks, timeoutMs = 1_000): Promise<Readiness> {
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

/**
 * Shares one readiness check among all callers: concurrent callers wait on the one in flight,
 * and a result is reused until its check is `ttlMs` old. However often /readyz is asked, the
 * dependencies see at most one check per `ttlMs`, so the endpoint cannot be used to load them.
 */
export function shareReadiness(check: () => Promise<Readiness>, ttlMs = 1_000, now = Date.now): () => Promise<Readiness> {
  let current: Promise<Readiness> | undefined;
  let startedAt = 0;
  let pending = false;
  return () => {
    if (current === undefined || (!pending && now() - startedAt >= ttlMs)) {
      startedAt = now();
      pending = true;
      current = check().finally(() => {
        pending = false;
      });
    }
    return current;
  };
}

/** The JSON body of /readyz. */
export const readinessDocument = ({ ready, checks }: Readiness) => ({ status: ready ? 'ready' : 'not ready', checks });

export interface OpsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * The operations listener of the relay, the consumer and (with API_OPS_PORT) the api: /healthz
 * (the process is alive), /readyz (its dependencies answer) and /metrics (Prometheus text).
 * Readiness is either named checks, all required, or a function of the process's own (the api
 * reports optional dependencies and shares one check among callers). Port 0 picks a free port.
 */
export async function startOpsServer(
  options: { port: number; registry: Registry } & ({ checks: ReadinessChecks } | { readiness: () => Promise<Readiness> }),
): Promise<OpsServer> {
  const readiness = 'readiness' in options ? options.readiness : () => checkReadiness(options.checks);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'application/json', '{"status":"ok"}');
    if (path === '/readyz') {
      void readiness().then((result) =>
        send(result.ready ? 200 : 503, 'application/json', JSON.stringify(readinessDocument(result))),
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

/**
 * Starts the ops server of a process for which it is the only listener, with every check required,
 * and logs `listening` with its port: the line operators, the tests and the bench wait for.
 */
export async function listenForOps(logger: Logger, port: number, registry: Registry, checks: ReadinessChecks): Promise<OpsServer> {
  const ops = await startOpsServer({ port, registry, checks });
  logger.info({ port: ops.port }, 'listening');
  return ops;
}
