import type { IncomingMessage } from 'node:http';

/** No request body may be larger than this; the JSON parser has the same limit. */
export const BODY_LIMIT_BYTES = 1024 * 1024;
export const BODY_LIMIT_TEXT = '1 MiB';

/** True when a request declares a body over the limit (Node has already checked that Content-Length is a number). */
export function declaresTooLargeBody(req: IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) > BODY_LIMIT_BYTES;
}
