import { randomUUID } from 'node:crypto';
import type { FaultSystem, Product } from './system';

/** A valid order body with 1–3 catalog items. */
export function orderBody(products: Product[], address: string) {
  const count = 1 + Math.floor(Math.random() * 3);
  const items = Array.from({ length: count }, (_, index) => ({
    product_id: products[(index * 7 + Math.floor(Math.random() * products.length)) % products.length]!.product_id,
    quantity: 1 + Math.floor(Math.random() * 5),
  }));
  return { customer_id: randomUUID(), items, shipping_address: address };
}

export interface PostResult {
  status: number;
  orderId?: string;
  text: string;
  headers: Record<string, string>;
}

/** One POST /api/orders with a deadline; a network error is status 0. */
export async function postOrder(
  baseUrl: string,
  body: unknown,
  { timeoutMs = 15_000, headers = {} }: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<PostResult> {
  try {
    const response = await fetch(`${baseUrl}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    const orderId = response.status === 201 ? (JSON.parse(text) as { order_id: string }).order_id : undefined;
    return { status: response.status, orderId, text, headers: Object.fromEntries(response.headers.entries()) };
  } catch (error) {
    return { status: 0, text: (error as Error).message, headers: {} };
  }
}

/** Places `count` orders through the system's API, `concurrency` at a time; all must be accepted. */
export async function placeOrders(system: FaultSystem, count: number, { concurrency = 8, address = 'fault street' } = {}): Promise<string[]> {
  const products = await system.products();
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        const result = await postOrder(system.apiUrl(), orderBody(products, address));
        if (!result.orderId) throw new Error(`POST /api/orders answered ${result.status}: ${result.text}`);
        ids.push(result.orderId);
      }
    }),
  );
  return ids;
}

export interface Traffic {
  /** Orders accepted so far. */
  accepted: string[];
  /** Answers other than 201, by status (0: no answer). */
  refused: Map<number, number>;
  /** The first few answers other than 201, whole. */
  refusals: PostResult[];
  /** Stops sending and resolves once the requests in flight are answered. */
  stop(): Promise<void>;
}

/**
 * Steady order traffic in the background: `concurrency` clients posting back to back, each
 * pausing `pauseMs` between orders. Refusals are counted, not thrown: under some faults (the
 * database cut) they are the expected answer.
 */
export function startTraffic(system: FaultSystem, { concurrency = 2, pauseMs = 20, address = 'traffic street' } = {}): Traffic {
  const accepted: string[] = [];
  const refused = new Map<number, number>();
  const refusals: PostResult[] = [];
  let stopping = false;
  const clients = Array.from({ length: concurrency }, async () => {
    const products = await system.products();
    while (!stopping) {
      // The API may be down (a fault killed it): that is a refusal, not the end of the traffic.
      const result = await Promise.resolve()
        .then(() => postOrder(system.apiUrl(), orderBody(products, address)))
        .catch((error: unknown): PostResult => ({ status: 0, text: String(error), headers: {} }));
      if (result.orderId) accepted.push(result.orderId);
      else {
        refused.set(result.status, (refused.get(result.status) ?? 0) + 1);
        if (refusals.length < 20) refusals.push(result);
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  });
  return {
    accepted,
    refused,
    refusals,
    async stop() {
      stopping = true;
      await Promise.all(clients);
    },
  };
}
