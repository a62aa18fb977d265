import http from 'node:http';
import autocannon from 'autocannon';
import { quantile } from './stats';
import { sleep } from './processes';

export interface HammerOptions {
  port: number;
  connections: number;
  seconds: number;
  method: 'GET' | 'POST';
  /** Paths to cycle through (one per request, round robin). */
  paths: string[];
  body?: string;
}

export interface HammerResult {
  /** 2xx responses per second over the run. */
  rate: number;
  seconds: number;
  ok: number;
  non2xx: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  /** Every 2xx response time, for the latency charts. */
  latenciesMs: number[];
}

/** Closed-loop HTTP load with autocannon's programmatic API: `connections` requests always in flight. */
export function hammer({ port, connections, seconds, method, paths, body }: HammerOptions): Promise<HammerResult> {
  const latenciesMs: number[] = [];
  let next = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections,
        duration: seconds,
        requests: [
          {
            method,
            path: paths[0]!,
            ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
            setupRequest: (request) => ({ ...request, path: paths[next++ % paths.length]! }),
          },
        ],
      },
      (error: unknown, result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        const ok = result['2xx'];
        resolve({
          rate: ok / result.duration,
          seconds: result.duration,
          ok,
          non2xx: result.non2xx,
          errors: result.errors,
          p50Ms: quantile(latenciesMs, 0.5),
          p99Ms: quantile(latenciesMs, 0.99),
          latenciesMs,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latenciesMs.push(responseTime);
    });
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One JSON request on a keep-alive connection; resolves with the status and the parsed body. */
export function request<T = unknown>(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          try {
            resolve({ status: res.statusCode ?? 0, body: (text === '' ? undefined : JSON.parse(text)) as T });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Open-loop load: starts task i at `start + i / rate` whether or not earlier tasks finished,
 * so a slow system shows up as latency instead of silently lowering the offered rate.
 * Resolves when every task settled; returns how many failed.
 */
export async function openLoop(rate: number, count: number, task: (index: number, scheduledAt: number) => Promise<void>) {
  const start = performance.now() + 10;
  const pending: Array<Promise<void>> = [];
  let failures = 0;
  for (let i = 0; i < count; i++) {
    const scheduledAt = start + (i * 1000) / rate;
    const wait = scheduledAt - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(task(i, scheduledAt).catch(() => void failures++));
  }
  await Promise.all(pending);
  return { failures };
}

/** Closes idle keep-alive sockets, so the bench can exit. */
export function closeAgent(): void {
  agent.destroy();
}
