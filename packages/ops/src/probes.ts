import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { describeError } from './format';

export interface ProcessProbe {
  process: string;
  url: string;
  status: 'ready' | 'not ready' | 'unreachable';
  checks?: Record<string, string>;
  error?: string;
}

/**
 * Expands a base URL to one URL per address of its host. Compose answers a service name with
 * every replica's address, so `http://relay:9101` becomes one probe per relay container.
 */
export async function expandReplicas(baseUrl: string): Promise<string[]> {
  const url = new URL(baseUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) || host === 'localhost') return [baseUrl];
  const addresses = await lookup(host, { all: true, family: 4 }).catch(() => []);
  if (addresses.length <= 1) return [baseUrl];
  return addresses.map(({ address }) => {
    const replica = new URL(baseUrl);
    replica.hostname = address;
    return replica.toString().replace(/\/$/, '');
  });
}

/** Asks one process's /readyz, with a deadline; never throws. */
export async function probe(processName: string, url: string, timeoutMs: number): Promise<ProcessProbe> {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json().catch(() => ({}))) as { checks?: Record<string, string> };
    return {
      process: processName,
      url,
      status: response.ok ? 'ready' : 'not ready',
      ...(body.checks ? { checks: body.checks } : {}),
    };
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    return { process: processName, url, status: 'unreachable', error: describeError(cause ?? error) };
  }
}

/** Probes every replica of every named process, all at once. */
export async function probeAll(targets: Record<string, string[]>, timeoutMs: number): Promise<ProcessProbe[]> {
  const jobs = Object.entries(targets).flatMap(([name, urls]) => urls.map((url) => ({ name, url })));
  const expanded = await Promise.all(jobs.map(async ({ name, url }) => (await expandReplicas(url)).map((replica) => ({ name, replica }))));
  return Promise.all(expanded.flat().map(({ name, replica }) => probe(name, replica, timeoutMs)));
}
