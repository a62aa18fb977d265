import { randomInt } from 'node:crypto';
import { expect } from 'chai';
import { httpRequest, type HttpResponse } from '@order-service/testkit';

/**
 * Clients of the rate-limited API, each from a loopback address of its own (127.0.0.0/8 is all
 * loopback), so each has a bucket `rl:<ip>` in the shared Redis that no other test touches.
 * The keys are remembered and deleted afterwards.
 */
export class LimiterClients {
  readonly keys: string[] = [];

  fresh(): string {
    const ip = `127.${randomInt(100, 250)}.${randomInt(0, 255)}.${randomInt(1, 255)}`;
    this.keys.push(`rl:${ip}`);
    return ip;
  }
}

/** GET /api/products from `ip` (with a deadline: under every fault an answer must come). */
export function getProducts(baseUrl: string, ip: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return httpRequest(`${baseUrl}/api/products`, { localAddress: ip, headers, timeoutMs: 5_000 });
}

export function expectRateLimited(response: HttpResponse) {
  expect(response.status, response.text).to.equal(429);
  expect(response.headers['content-type']).to.match(/^application\/problem\+json/);
  expect(Number(response.headers['retry-after'])).to.be.within(1, 60);
}

/** Whether the limiter enforces 5 per window for a new client: five pass, the sixth is a 429. */
export async function limitsNewClient(baseUrl: string, clients: LimiterClients): Promise<boolean> {
  const ip = clients.fresh();
  for (let i = 0; i < 5; i += 1) {
    const response = await getProducts(baseUrl, ip);
    if (response.status !== 200) return false;
  }
  const sixth = await getProducts(baseUrl, ip);
  if (sixth.status !== 429) return false;
  expectRateLimited(sixth);
  return true;
}

/** With Redis unusable the limiter fails open (the configured policy): a client gets more than 5 through. */
export async function failsOpen(baseUrl: string, clients: LimiterClients): Promise<void> {
  const ip = clients.fresh();
  for (let i = 0; i < 8; i += 1) {
    const response = await getProducts(baseUrl, ip);
    expect(response.status, `request ${i + 1} with Redis down: ${response.text}`).to.equal(200);
  }
}
