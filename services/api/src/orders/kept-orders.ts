import type { Request, Response } from 'express';
import { decodeCacheEntry } from '@order-service/shared';
import { cachedBody, shownTo, type OrderBody } from './get-order';

type EtagFn = (body: string, encoding: BufferEncoding) => string | undefined;

/** A kept order, ready to send: its body (and customer), its bytes, and its tag. */
export interface KeptOrder extends OrderBody {
  bytes: Buffer;
  /** The tag `res.send` would make (undefined in an app without ETags). */
  etag: string | undefined;
}

/** What express's `res.type('application/json')` sets before `res.send`. */
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The hit path of GET /api/orders/{id}: the orders the Redis client keeps in process (see
 * createRedis; `entryOf` is keptCacheEntry), each made ready to send once, when its cache entry is
 * first seen. The client hands out the same entry string for as long as it keeps the copy, so a
 * hit is one look-up by a string whose hash is already known, instead of slicing the body out,
 * hashing 1 KB for its tag and encoding it to bytes on every request. A new version of the order
 * is a new entry. The `maxEntries` last entries are kept ready (about 2 KB each); past that the
 * oldest is forgotten.
 *
 * The look-up answers the order as `viewer` may see it (see shownTo), or undefined when no copy
 * is kept (or it is a tombstone) and the request must read on.
 */
export function keptOrders(entryOf: (orderId: string) => string | null | undefined, maxEntries: number) {
  const ready = new Map<string, KeptOrder | null>();
  const prepare = (entry: string, etagOf: EtagFn | undefined): KeptOrder | null => {
    const { body } = decodeCacheEntry(entry);
    return body === null ? null : { ...cachedBody(body), bytes: Buffer.from(body), etag: etagOf?.(body, 'utf8') };
  };
  return (res: Response, orderId: string, viewer: string | undefined): KeptOrder | undefined => {
    const entry = entryOf(orderId);
    if (typeof entry !== 'string') return undefined;
    let order = ready.get(entry);
    if (order === undefined) {
      order = prepare(entry, res.app.get('etag fn') as EtagFn | undefined);
      if (ready.size >= maxEntries) ready.delete(ready.keys().next().value!);
      ready.set(entry, order);
    }
    return order === null ? undefined : shownTo(order, orderId, viewer);
  };
}

/**
 * Sends a kept order. A plain GET, the usual case, gets the three headers and the ready bytes:
 * what `res.send` would send, without its work per request. A conditional GET or a HEAD goes
 * through `res.send` with the same tag, which answers 304, or no body, as express does.
 */
export function sendKeptOrder(req: Request, res: Response, { body, bytes, etag }: KeptOrder): void {
  if (etag !== undefined) res.setHeader('ETag', etag);
  const { headers } = req;
  if (req.method !== 'GET' || headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined) {
    res.type('application/json').send(body);
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', JSON_TYPE);
  res.setHeader('Content-Length', bytes.length);
  res.end(bytes);
}
